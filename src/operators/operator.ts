// The operator contract: what a task's operator chain calls, record by record and at checkpoints.
import type { KeyedStateBackend, OperatorStateSnapshot } from '../backends/types.ts';
import type { OperatorStateStore } from '../backends/operator-state-store.ts';
import type { Configuration } from '../config/configuration.ts';
import type { ElementTimestamp } from './event-time.ts';

/** Where an operator emits its records (the next operator of the chain, or the task's output writer). */
export interface Output<T> {
  collect(record: T): void;
  /**
   * Emits `record` to the side output `tag` (Flink's `collect(outputTag, record)`): the output routes
   * it to what reads that side output (`getSideOutput(tag)`), nothing else sees it. Absent where
   * nothing reads side outputs: the record is dropped, as Flink drops a tag nobody reads.
   */
  sideOutput?(tag: string, record: unknown): void;
  /** event time: passes a watermark on, after everything collected before it (absent where nothing reads watermarks) */
  emitWatermark?(timestamp: number): void;
  /** event time: the input went idle (holds no watermark back) or active again */
  emitWatermarkStatus?(status: 'idle' | 'active'): void;
}

/**
 * What a source reader's poll emits to (Flink's ReaderOutput). A reader with several splits asks for
 * one output per split: with fromSource(source, strategy) each split then gets its own timestamp
 * assigner and watermark generator, and the subtask's watermark is the minimum over its splits
 * (a split idle per withIdleness excluded), so a fast split does not make a slow one's records late.
 * Absent where nothing generates watermarks per split: the reader then collects into the output itself.
 */
export interface ReaderOutput<T> extends Output<T> {
  /** the output of split `splitId` (Flink's createOutputForSplit); the same one for the same id until released */
  forSplit?(splitId: string): Output<T>;
  /** split `splitId` is finished: its watermark no longer holds the subtask's back (Flink's releaseOutputForSplit) */
  releaseSplit?(splitId: string): void;
}

/** What user functions see of their runtime (Flink's RuntimeContext). */
export interface RuntimeContext {
  readonly jobId: string;
  readonly taskName: string;
  readonly operatorUid: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** 0 on the first run, +1 on every restart of the job */
  readonly attemptNumber: number;
}

export interface OperatorContext extends RuntimeContext {
  /** present for operators after keyBy */
  readonly keyedState: KeyedStateBackend | null;
  readonly operatorState: OperatorStateStore;
  /** id of the checkpoint this subtask was restored from, or null on a fresh start */
  readonly restoredCheckpointId: number | null;
  /** false when the job runs without checkpoints: sinks then commit at end of input */
  readonly checkpointingEnabled: boolean;
  /** event time: the timestamp of the record in hand, and of what the operator emits (shared by the chain) */
  readonly elementTimestamp: ElementTimestamp;
  /** `pipeline.auto-watermark-interval` in ms (0: no periodic watermarks) */
  readonly autoWatermarkInterval: number;
  /** wakes the task from a timer (processing time): the task then calls `onProcessingTime` of its operators */
  readonly requestWake?: () => void;
}

export interface StreamOperator<IN, OUT> {
  /** Called once state has been restored, before the first record. */
  open(context: OperatorContext, output: Output<OUT>): void | Promise<void>;
  processElement(record: IN): void;
  /**
   * Chained right behind a source: the input of one of the reader's splits (fromSource's per-split
   * watermarks); the chain hands it to the reader as `ReaderOutput.forSplit`.
   */
  forSplit?(splitId: string): Output<IN>;
  /** the split's input is finished (the reader's `releaseSplit`) */
  releaseSplit?(splitId: string): void;
  /**
   * Event time: handles a watermark fully (fires due timers, emits their output), then passes it on
   * with `output.emitWatermark`. Without it the chain passes watermarks on itself.
   */
  processWatermark?(timestamp: number): void;
  /** Processing time: called on the task's run loop when the task wakes (fires due processing-time timers). */
  onProcessingTime?(now: number): void;
  /**
   * After each input batch: an operator that is busy (async I/O, a slow external system) returns
   * a promise, and the task reads no more input until it settles — backpressure, not a blocked thread.
   */
  endBatch?(): void | Promise<void>;
  /**
   * Synchronous part of a checkpoint: write what must be kept into operator state (keyed state is
   * snapshotted by the task). A returned promise is an asynchronous part the acknowledgement waits
   * for (a transactional sink's pre-commit: flush and PREPARE); its rejection declines the checkpoint.
   */
  snapshotState?(checkpointId: number): void | Promise<void>;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void | Promise<void>;
  /** All input has been consumed (end of every input partition). */
  endInput?(): void | Promise<void>;
  /** The task stops: normally, on cancel, or after a failure. Must not throw for a half-open operator. */
  close?(): void | Promise<void>;
}

/** 'idle': nothing to emit yet (a rate-limited or waiting source): the task sleeps a millisecond instead of spinning */
export type PollResult = 'more' | 'end' | 'idle';

/** A source's per-subtask reader. Its read position lives in operator state so it resumes exactly. */
export interface SourceReader<T> {
  open(context: OperatorContext): void | Promise<void>;
  /** Emits at most `max` records. Returns 'end' once the source is exhausted. */
  poll(output: ReaderOutput<T>, max: number): PollResult;
  /** Writes the read position into operator state (called at the checkpoint barrier). */
  snapshotState(checkpointId: number): void;
  close?(): void | Promise<void>;
}

export interface Source<T> {
  readonly name: string;
  /** Takes what the job's configuration says for it (connection settings given with -D), before validate. */
  configure?(config: Configuration): void;
  /** Rejects bad configuration before the job starts (e.g. a missing input file). */
  validate?(): void;
  /**
   * What restoring `state` (the operator state of every subtask of source `uid`) would do that the
   * job does not say, e.g. read a file other than the one it names: warnings shown before the job starts.
   */
  restoreWarnings?(state: OperatorStateSnapshot[], uid: string): string[];
  createReader(): SourceReader<T>;
}

/** How a job ended, as a sink's onJobEnd sees it. */
export interface JobEnd {
  readonly jobId: string;
  readonly status: 'FINISHED' | 'CANCELED' | 'FAILED';
  /** the job's last completed checkpoint (or the one it was restored from and never passed), null if none */
  readonly lastCheckpointId: number | null;
}

export interface Sink<T> {
  readonly name: string;
  /** Takes what the job's configuration says for it (connection settings given with -D), before validate. */
  configure?(config: Configuration): void;
  validate?(): void;
  createWriter(): StreamOperator<T, never>;
  /**
   * In the job master once the job has ended for good (every task closed, no checkpoint can
   * complete any more): settles what the writers left open, by the job's last completed checkpoint.
   */
  onJobEnd?(end: JobEnd): void | Promise<void>;
}
