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

export interface AcknowledgeCheckpoint {
  checkpointId: number;
  subtask: SubtaskId;
  state: TaskStateSnapshot;
  metrics: SubtaskCheckpointMetrics;
}

export interface DeclineCheckpoint {
  checkpointId: number;
  subtask: SubtaskId;
  reason: Error;
}
