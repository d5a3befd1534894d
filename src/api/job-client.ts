// JobClient: a handle on a submitted job — id, status, checkpoints, savepoints, stop, cancel, result.
import type { CheckpointOptions } from '../checkpoint/types.ts';
import type { StopOptions } from '../savepoints/savepoint-operations.ts';
import type { RestorePoint } from '../savepoints/restore-point.ts';
import type { JobEvents, JobMaster, JobResult } from '../coordinator/job-master.ts';
import type { JobStatus } from '../coordinator/job-master-machine.ts';
import type { CheckpointStats, CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';

/** Savepoints' code, loaded when a job takes its first one: every operation starts by checking its directory on disk anyway. */
const savepointOperations = () => import('../savepoints/savepoint-operations.ts');

export class JobClient {
  constructor(
    readonly master: JobMaster,
    /** operators that got generated uids: the job's state cannot be matched safely after changes */
    readonly generatedUids: string[],
    readonly onEnd: () => void = () => {},
    readonly options: JobClientOptions = {},
  ) {}

  /** the savepoint or retained checkpoint the job started from, if any */
  get restoredFrom(): RestorePoint | null {
    return this.options.restoredFrom ?? null;
  }

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

  /** Takes a savepoint under `targetDirectory` (default state.savepoints.dir); resolves with its path. */
  async triggerSavepoint(targetDirectory?: string): Promise<string> {
    const { triggerSavepoint } = await savepointOperations();
    return triggerSavepoint(this.master, targetDirectory ?? this.options.savepointsDir);
  }

  /**
   * Takes a savepoint, then stops the job (it ends FINISHED; sinks committed everything up to the
   * savepoint). If the savepoint fails, the job keeps running and the promise rejects with the cause.
   */
  async stopWithSavepoint(targetDirectory?: string, options: StopOptions = {}): Promise<string> {
    const { endWithSavepoint } = await savepointOperations();
    return (await endWithSavepoint(this.master, targetDirectory ?? this.options.savepointsDir, 'stop', options)).path;
  }

  /** Takes a savepoint, then cancels the job; all-or-nothing as stopWithSavepoint. */
  async cancelWithSavepoint(targetDirectory?: string): Promise<string> {
    const { endWithSavepoint } = await savepointOperations();
    return (await endWithSavepoint(this.master, targetDirectory ?? this.options.savepointsDir, 'cancel')).path;
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

export interface JobClientOptions {
  /** state.savepoints.dir: the default savepoint target */
  savepointsDir?: string;
  restoredFrom?: RestorePoint | null;
}
