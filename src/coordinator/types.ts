// Checkpoint records the coordinator keeps: completed checkpoints (what a restore reads) and stats.
import type { ChannelStateSnapshot, CheckpointKind, OperatorSubtaskState, SubtaskCheckpointMetrics, SubtaskId } from '../actors/types.ts';

export function subtaskKey(subtask: SubtaskId): string {
  return `${subtask.vertexId}#${subtask.subtaskIndex}`;
}

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
}

/** Where a subtask's channel state lives in a completed checkpoint. */
export function channelStateKey(operatorUid: string, subtaskIndex: number): string {
  return `${operatorUid}#${subtaskIndex}`;
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
  subtasks: SubtaskCheckpointStats[];
  /** the largest alignment duration among the subtasks, ms */
  maxAlignmentMs: number;
}
