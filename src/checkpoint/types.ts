// Checkpoint kinds and modes, barrier options, subtask ids and per-subtask checkpoint metrics.
import type { CheckpointingMode } from '../config/config-options.ts';

/** exactly-once (aligned, or unaligned) or at-least-once: declared once, with the configuration key it comes from. */
export type { CheckpointingMode };
export type CheckpointKind = 'checkpoint' | 'savepoint';
export type Alignment = 'aligned' | 'unaligned';

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

/** The checkpoint barrier, as it travels on a channel from producer to consumer subtask. */
export interface Barrier {
  type: 'barrier';
  checkpointId: number;
  timestamp: number;
  options: CheckpointOptions;
}

/** Identifies one subtask of one job vertex. */
export interface SubtaskId {
  vertexId: string;
  subtaskIndex: number;
}

/** `vertex#index`: how acknowledgements, pending checkpoints and task states name a subtask. */
export function subtaskKey(subtask: SubtaskId): string {
  return `${subtask.vertexId}#${subtask.subtaskIndex}`;
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
