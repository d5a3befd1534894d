// Checkpoint storage: where the snapshots of a job's subtasks go, and where completed checkpoints are kept.
import type { TaskStateStorage } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';

/** How a job ended, for externalized checkpoint retention. */
export type JobEndStatus = 'FINISHED' | 'CANCELED' | 'FAILED';

/** `execution.checkpointing.externalized-checkpoint-retention`: what stays on disk when the job ends (as Flink). */
export type { ExternalizedRetention } from '../config/config-options.ts';
import type { ExternalizedRetention } from '../config/config-options.ts';

/** A retained checkpoint that could not be restored: the restore fell back to an older one. */
export interface RestoreWarning {
  /** the checkpoint's id, or its directory */
  checkpoint: string;
  reason: string;
}

/** A job's checkpoint storage (Flink's CheckpointStorage plus its CompletedCheckpointStore). */
export interface CheckpointStorage {
  readonly name: string;
  /** what stays on disk when the job ends (storages that keep nothing past the job leave it unset) */
  readonly retention?: ExternalizedRetention;
  /** The storage one operator subtask writes its snapshots to. */
  forSubtask(operatorUid: string, subtaskIndex: number): TaskStateStorage;
  /** Makes a completed checkpoint durable and retained (drops what retention no longer keeps); it counts only once this resolves. */
  persist(checkpoint: CompletedCheckpoint): Promise<void>;
  /** Checkpoint `id` was aborted: removes what was written for it, unless it was persisted already (then it is a valid restore point). */
  discard(checkpointId: number): Promise<void>;
  /** What a restart restores from: the newest retained checkpoint that validates; damaged ones are reported and dropped. */
  restorePoint(report: (warning: RestoreWarning) => void): Promise<CompletedCheckpoint | null>;
  /** The job ended: keeps or deletes the retained checkpoints as externalized retention says. */
  shutdown(status: JobEndStatus): Promise<void>;
}
