// JobClient: a handle on a submitted job — id, status, checkpoints, cancel, result.
import type { CheckpointOptions } from '../actors/types.ts';
import type { JobEvents, JobMaster, JobResult } from '../coordinator/job-master.ts';
import type { JobStatus } from '../coordinator/job-master-machine.ts';
import type { CheckpointStats, CompletedCheckpoint } from '../coordinator/types.ts';

export class JobClient {
  constructor(
    readonly master: JobMaster,
    /** operators that got generated uids: the job's state cannot be matched safely after changes */
    readonly generatedUids: string[],
    readonly onEnd: () => void = () => {},
  ) {}

  get jobId(): string {
    return this.master.jobId;
  }

  get jobName(): string {
    return this.master.jobName;
  }

  getJobStatus(): JobStatus {
    return this.master.status;
  }

  /** Resolves when the job finishes or is canceled; rejects with the cause when it fails for good. */
  getJobExecutionResult(): Promise<JobResult> {
    return this.master.result;
  }

  get result(): Promise<JobResult> {
    return this.master.result;
  }

  cancel(): Promise<JobResult> {
    return this.master.cancel();
  }

  triggerCheckpoint(options?: CheckpointOptions): Promise<CompletedCheckpoint> {
    return this.master.triggerCheckpoint(options);
  }

  /** Recent checkpoints, oldest first, with per-subtask alignment, delay, sync/async durations, sizes. */
  getCheckpointHistory(): CheckpointStats[] {
    return [...this.master.checkpointHistory];
  }

  getLatestCheckpoint(): CompletedCheckpoint | null {
    return this.master.latestCheckpoint;
  }

  on<E extends keyof JobEvents>(event: E, listener: (...args: JobEvents[E]) => void): this {
    this.master.on(event, listener as never);
    return this;
  }
}
