// Checkpoint storage: where the snapshots of a job's subtasks go, and where completed checkpoints are kept.
import type { TaskStateStorage } from '../backends/types.ts';

/** A job's checkpoint storage (Flink's CheckpointStorage): hands each operator subtask its own writer. */
export interface CheckpointStorage {
  readonly name: string;
  /** The storage one operator subtask writes its snapshots to. */
  forSubtask(operatorUid: string, subtaskIndex: number): TaskStateStorage;
}
