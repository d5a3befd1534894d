// Wire types between tasks (data, barriers, credits) and between tasks and the coordinator.
import type { OperatorStateSnapshot, StateHandle } from '../backends/types.ts';

export type CheckpointKind = 'checkpoint' | 'savepoint';
export type Alignment = 'aligned' | 'unaligned';
export type CheckpointingMode = 'exactly-once' | 'at-least-once';

export interface CheckpointOptions {
  kind: CheckpointKind;
  alignment: Alignment;
  /** savepoints only: where the savepoint goes */
  targetDirectory?: string;
  /** savepoints only: taken by stop --drain (recorded in the savepoint, which warns on restore) */
  drained?: boolean;
  /**
   * aligned checkpoints only: a task whose alignment lasts longer than this switches the
   * checkpoint to unaligned (Flink's execution.checkpointing.aligned-checkpoint-timeout)
   */
  alignedTimeoutMs?: number;
}

/** Messages that travel on a channel, producer subtask -> consumer subtask. */
export type ChannelMessage =
  | { type: 'data'; batch: unknown[] }
  | { type: 'barrier'; checkpointId: number; timestamp: number; options: CheckpointOptions }
  | { type: 'cancel-barrier'; checkpointId: number }
  | { type: 'end-of-partition' };

/** Identifies one subtask of one job vertex. */
export interface SubtaskId {
  vertexId: string;
  subtaskIndex: number;
}

export interface SubtaskCheckpointMetrics {
  /** first barrier arrival -> last barrier arrival, ms */
  alignmentDurationMs: number;
  /** trigger time -> first barrier arrival at this subtask, ms */
  startDelayMs: number;
  syncDurationMs: number;
  asyncDurationMs: number;
  /** bytes of all state handles */
  stateSize: number;
  /** records of blocked channels left queued during alignment */
  bufferedDuringAlignment: number;
  /** estimated bytes of those records (first record's encoded size x records) */
  bytesHeldDuringAlignment?: number;
  /** the snapshot was taken unaligned (from the start, or after the aligned timeout) */
  unaligned?: boolean;
  /** encoded bytes of the in-flight records persisted as channel state */
  persistedInFlightBytes?: number;
}

/** The state of one operator of a chain in one subtask's snapshot. */
export interface OperatorSubtaskState {
  keyed: StateHandle | null;
  operator: OperatorStateSnapshot;
}

/** A subtask's snapshot: operator uid -> its state. */
export interface TaskStateSnapshot {
  [operatorUid: string]: OperatorSubtaskState;
}

/**
 * The in-flight records an unaligned checkpoint overtook at one subtask (Flink's channel state):
 * per input channel, the data buffers that were sent before the barrier but not yet part of the
 * subtask's operator state. Each buffer is one msgpackr-encoded batch, replayed before new input.
 */
export interface ChannelStateSnapshot {
  /** uid of the head operator of the subtask's chain: channel state is matched by it on restore */
  operatorUid: string;
  subtaskIndex: number;
  /** the vertex's parallelism and input channel count when taken: a rescaled job cannot replay it */
  parallelism: number;
  inputChannels: number;
  /** indexed by input channel; encoded batches, oldest first */
  inputs: Uint8Array[][];
  bytes: number;
}

export interface AcknowledgeCheckpoint {
  checkpointId: number;
  subtask: SubtaskId;
  state: TaskStateSnapshot;
  metrics: SubtaskCheckpointMetrics;
  /** unaligned checkpoints: the in-flight data this subtask persisted, if any */
  channelState?: ChannelStateSnapshot;
}

export interface DeclineCheckpoint {
  checkpointId: number;
  subtask: SubtaskId;
  reason: Error;
}
