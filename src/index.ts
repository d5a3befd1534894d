// floe's public API: what `import ... from 'floe'` gives a job file or a program.
export { StreamExecutionEnvironment } from './api/stream-execution-environment.ts';
export { DataStream, KeyedStream, DataStreamSink, SingleOutputStreamOperator } from './api/data-stream.ts';
export { WindowedStream } from './api/windowed-stream.ts';
export { WatermarkStrategy } from './operators/watermark-strategy.ts';
export type { WatermarkGenerator, WatermarkOutput, TimestampAssigner } from './operators/watermark-strategy.ts';
export {
  TumblingEventTimeWindows,
  SlidingEventTimeWindows,
  EventTimeSessionWindows,
  TumblingProcessingTimeWindows,
  SlidingProcessingTimeWindows,
  ProcessingTimeSessionWindows,
  WindowAssigner,
} from './operators/window-assigners.ts';
export type { TimeWindow } from './operators/window-assigners.ts';
export type { ProcessWindowContext, ProcessWindowFunction, WindowAggregateFunction } from './operators/window-operator.ts';
export { OutputTag } from './operators/output-tag.ts';
export type { TimerService } from './operators/internal-timer-service.ts';
export { MAX_WATERMARK, MIN_WATERMARK } from './operators/event-time.ts';
export { JobClient } from './api/job-client.ts';
export { Savepoint } from './savepoints/savepoint.ts';
export { RetainedCheckpoint } from './savepoints/retained-checkpoint.ts';
export type { KeyedEntry, OperatorSummary, StateSummary } from './savepoints/savepoint.ts';
export { valueState, listState, mapState, reducingState, aggregatingState } from './api/state.ts';
export type { InspectionOptions, InspectOption } from './api/inspection.ts';
export { FileSink } from './connectors/file-sink.ts';
export { CollectSink } from './connectors/collect-sink.ts';
export { PrintSink } from './connectors/print-sink.ts';
export { SequenceSource } from './connectors/sequence-source.ts';
export { CollectionSource } from './connectors/collection-source.ts';
export { TextFileSource } from './connectors/text-file-source.ts';
export { JetStreamSource } from './connectors/jetstream-source.ts';
export type { JetStreamSourceOptions, JetStreamStart, JetStreamMessageInfo } from './connectors/jetstream-source.ts';
export { JetStreamSink } from './connectors/jetstream-sink.ts';
export type { JetStreamSinkOptions } from './connectors/jetstream-sink.ts';
export { PostgresSink } from './connectors/postgres-sink.ts';
export type { PostgresSinkOptions } from './connectors/postgres-sink.ts';
export { Configuration } from './config/configuration.ts';
export type { JobResult } from './coordinator/job-master.ts';
export type { JobStatus } from './coordinator/job-master-machine.ts';
export type { CheckpointStats, CompletedCheckpoint } from './checkpoint/completed-checkpoint.ts';
export type {
  Output,
  ReaderOutput,
  RuntimeContext,
  Source,
  SourceReader,
  PollResult,
  Sink,
  JobEnd,
  StreamOperator,
  OperatorContext,
} from './operators/operator.ts';
export type { ProcessContext, ProcessFunction } from './operators/process-operator.ts';
export type * from './backends/types.ts';
export * from './errors.ts';
export { FloeWarning, onFloeWarning } from './warnings.ts';
