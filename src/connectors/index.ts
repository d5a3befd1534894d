// Sources and sinks that come with floe.
export { SequenceSource } from './sequence-source.ts';
export type { SequenceSplit } from './sequence-source.ts';
export { CollectionSource } from './collection-source.ts';
export { TextFileSource } from './text-file-source.ts';
export type { TextFileSplit } from './text-file-source.ts';
export { PrintSink } from './print-sink.ts';
export type { PrintSinkOptions, TextOut } from './print-sink.ts';
export { FileSink } from './file-sink.ts';
export type { FileSinkOptions, FileTransaction } from './file-sink.ts';
export { CollectSink } from './collect-sink.ts';
export type { CollectTransaction } from './collect-sink.ts';
export { formatRecord } from './format-record.ts';
export { JetStreamSource } from './jetstream-source.ts';
export type { JetStreamSourceOptions, JetStreamSplit, JetStreamStart, JetStreamMessageInfo } from './jetstream-source.ts';
export { JetStreamSink } from './jetstream-sink.ts';
export type { JetStreamSinkOptions } from './jetstream-sink.ts';
export { PostgresSink } from './postgres-sink.ts';
export type { PostgresSinkOptions } from './postgres-sink.ts';
