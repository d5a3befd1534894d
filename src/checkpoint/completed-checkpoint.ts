// A completed checkpoint (what a restore reads) and the statistics the coordinator keeps of every checkpoint.
import type { ChannelStateSnapshot, OperatorSubtaskState } from './state-handles.ts';
import type { CheckpointKind, SubtaskCheckpointMetrics, SubtaskId } from './types.ts';

/** One operator's state across all its subtasks at one checkpoint. */
export interface OperatorState {
  parallelism: number;
  /** indexed by subtask */
  subtasks: OperatorSubtaskState[];
}

export interface CompletedCheckpoint {
  id: number;
  kind: CheckpointKind;
  /** wall clock at trigger, ms */
  timestamp: number;
  completedAt: number;
  durationMs: number;
  stateSize: number;
  maxParallelism: number;
  /** operator uid -> state */
  operators: Record<string, OperatorState>;
  /** savepoints: the request, so the persist step writes the savepoint directory before the savepoint completes */
  savepoint?: { targetDirectory: string; drained: boolean };
  /** unaligned checkpoints: in-flight data by `<head operator uid>#<subtask index>` (see channelStateKey) */
  channelState?: Record<string, ChannelStateSnapshot>;
  /**
   * Where the persist step put it, as Flink's external pointer: a savepoint's directory (what the
   * trigger returns). Set when the checkpoint completes, after `_metadata` was written, so it is never
   * part of the file.
   */
  externalPointer?: string;
}

export interface SubtaskCheckpointStats {
  subtask: SubtaskId;
  acknowledgedAt: number;
  metrics: SubtaskCheckpointMetrics;
}

export type CheckpointStatus = 'in-progress' | 'completed' | 'failed';

export interface CheckpointStats {
  id: number;
  kind: CheckpointKind;
  status: CheckpointStatus;
  triggerTimestamp: number;
  endTimestamp?: number;
  durationMs?: number;
  stateSize: number;
  failureReason?: string;
  /** why it failed, as a code: FLOE_CHECKPOINT_EXPIRED, _SUBSUMED, _DECLINED, ... (see CheckpointAbortCode) */
  failureCode?: string;
  subtasks: SubtaskCheckpointStats[];
  /** the largest alignment duration among the subtasks, ms */
  maxAlignmentMs: number;
}
