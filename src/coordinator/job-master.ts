// The job master: deploys a job's tasks, runs its checkpoint coordinator, and restarts it after failures.
import { EventEmitter } from 'node:events';
import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { Task } from '../actors/task.ts';
import type { CheckpointOptions } from '../checkpoint/types.ts';
import type { StateBackend } from '../backends/types.ts';
import { resolveRestorePath } from '../storage/checkpoint-recovery.ts';
import type { CheckpointStorage, JobEndStatus, RestoreWarning } from '../storage/types.ts';
import type { CheckpointConfig } from '../config/checkpoint-config.ts';
import { JobExecutionError, UnrecoverableError } from '../errors.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { checkpointCoordinatorMachine, type CheckpointCoordinatorMachine } from './checkpoint-coordinator.ts';
import { ExecutionGraph } from './execution-graph.ts';
import { jobMasterMachine, type JobStatus } from './job-master-machine.ts';
import type { RestartStrategy } from './restart-strategy.ts';
import { subtaskKey } from '../checkpoint/types.ts';
import { type CheckpointStats, type CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';

export interface JobSettings {
  checkpoint: CheckpointConfig;
  backend: StateBackend;
  storage: CheckpointStorage;
  restartStrategy: RestartStrategy;
  batchSize: number;
  buffersPerChannel: number;
  inspect?: (event: InspectionEvent) => void;
  /** the first attempt restores from here (a validated savepoint): later restarts use newer checkpoints */
  restore?: CompletedCheckpoint | null;
  /** a checkpoint directory (or a job's checkpoint directory) to start from, resolved at deploy with fallback */
  restoreFrom?: string;
}

export interface JobResult {
  jobId: string;
  jobName: string;
  status: JobStatus;
  durationMs: number;
  restarts: number;
  checkpoints: { completed: number; failed: number };
  error?: unknown;
}

export interface JobEvents {
  status: [JobStatus];
  'checkpoint-completed': [CompletedCheckpoint, CheckpointStats | undefined];
  'checkpoint-failed': [number, string];
  'task-failed': [{ task: string; error: unknown; attempt: number }];
  restarting: [{ delayMs: number; attempt: number }];
  running: [{ attempt: number; restoredFrom: number | null }];
  /** a checkpoint could not be restored (damaged, missing files): the restore fell back to an older one */
  'restore-fallback': [RestoreWarning];
  /** a task consumed all its input (stop --drain waits for every task's) */
  'end-of-input': [Task];
}

export class JobMaster extends EventEmitter<JobEvents> {
  readonly coordinator: Actor<CheckpointCoordinatorMachine>;
  readonly actor;
  #execution: ExecutionGraph | null = null;
  #stopping: Promise<void> | null = null;
  #attempt = -1;
  #restarts = 0;
  #lastError: unknown;
  #held = false;
  /** the savepoint or checkpoint the job was started from, the restart point until the job completes its own */
  #initialRestore: CompletedCheckpoint | null | undefined;
  readonly #startedAt = Date.now();
  readonly #result: Promise<JobResult>;
  #settle!: { resolve(r: JobResult): void; reject(e: unknown): void };

  constructor(
    readonly jobId: string,
    readonly jobName: string,
    readonly graph: JobGraph,
    readonly settings: JobSettings,
  ) {
    super();
    if (settings.restore) this.#initialRestore = settings.restore;
    this.#result = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#result.catch(() => {}); // callers that never ask for the result must not crash the process
    this.coordinator = createActor(checkpointCoordinatorMachine, {
      input: {
        config: settings.checkpoint,
        maxParallelism: graph.maxParallelism,
        latest: settings.restore ?? null,
        hooks: {
          trigger: (id, ts, options) => this.#execution?.triggerCheckpoint(id, ts, options),
          persist: (cp) => settings.storage.persist(cp),
          notifyComplete: (cp) => {
            this.#execution?.notifyCheckpointComplete(cp.id);
            this.emit('checkpoint-completed', cp, this.checkpointHistory.find((s) => s.id === cp.id));
          },
          notifyAborted: (id, reason) => {
            this.#execution?.notifyCheckpointAborted(id);
            settings.storage.discard(id).catch(() => {}); // best effort: a leftover directory without _metadata is never restored
            this.emit('checkpoint-failed', id, reason);
          },
          failJob: (error) => {
            this.#lastError = error;
            this.actor.send({ type: 'FAIL_JOB', error });
          },
        },
      },
      inspect: settings.inspect,
    });
    this.actor = createActor(jobMasterMachine, {
      input: {
        actions: {
          deploy: () => this.#deploy(),
          stopAttempt: (reason) => this.#stopAttempt(reason),
          restartDelay: () => this.#restartDelay(),
          finish: () => this.#end('FINISHED'),
          fail: () => this.#end('FAILED'),
          canceled: () => this.#end('CANCELED'),
        },
      },
      inspect: settings.inspect,
    });
    this.actor.subscribe((s) => this.emit('status', s.value as JobStatus));
  }

  get status(): JobStatus {
    return this.actor.getSnapshot().value as JobStatus;
  }

  /** wall clock when the job was submitted, ms */
  get startedAt(): number {
    return this.#startedAt;
  }

  get result(): Promise<JobResult> {
    return this.#result;
  }

  get execution(): ExecutionGraph | null {
    return this.#execution;
  }

  get latestCheckpoint(): CompletedCheckpoint | null {
    return this.coordinator.getSnapshot().context.tracker.latest;
  }

  get checkpointHistory(): CheckpointStats[] {
    return this.coordinator.getSnapshot().context.tracker.history;
  }

  get checkpointCounts(): { triggered: number; completed: number; failed: number } {
    return { ...this.coordinator.getSnapshot().context.tracker.counts };
  }

  start(): void {
    this.coordinator.start();
    this.actor.start();
    this.actor.send({ type: 'START' });
  }

  cancel(): Promise<JobResult> {
    this.actor.send({ type: 'CANCEL' });
    return this.#result;
  }

  /** Stops the job after a savepoint was taken (see JobClient.stopWithSavepoint); the job ends FINISHED. */
  stop(): Promise<JobResult> {
    this.actor.send({ type: 'STOP' });
    return this.#result;
  }

  /** Holds periodic and end-of-input checkpoints (while a stop-with-savepoint runs), or lets them go again. */
  holdCheckpoints(held: boolean): void {
    this.#held = held;
    this.coordinator.send({ type: held ? 'HOLD' : 'RESUME' });
    // sources that ended while held still need their final checkpoint
    const execution = this.#execution;
    if (!held && execution && this.settings.checkpoint.enabled && execution.tasks.every((t) => !t.isSource || t.inputEnded)) {
      this.triggerCheckpoint().catch(() => {});
    }
  }

  /** Takes a checkpoint (or savepoint) now; resolves when it completes. */
  triggerCheckpoint(options: CheckpointOptions = { kind: 'checkpoint', alignment: 'aligned' }): Promise<CompletedCheckpoint> {
    return new Promise((resolve, reject) => this.coordinator.send({ type: 'TRIGGER', request: { options, resolve, reject } }));
  }

  #deploy(): void {
    const attempt = ++this.#attempt;
    this.#execution = null;
    this.#stopping = null;
    this.#restorePoint().then(
      (restore) => {
        if (attempt !== this.#attempt || this.status !== 'RUNNING') return; // canceled or failed meanwhile
        if (restore) this.coordinator.send({ type: 'RESTORED', checkpoint: restore });
        this.#startAttempt(attempt, restore);
      },
      (error: unknown) => {
        if (attempt !== this.#attempt) return;
        this.#lastError = error;
        this.actor.send({ type: 'FAIL_JOB', error });
      },
    );
  }

  /** The newest retained checkpoint that validates (damaged ones reported), else the one the job was started from. */
  async #restorePoint(): Promise<CompletedCheckpoint | null> {
    const report = (warning: RestoreWarning) => this.emit('restore-fallback', warning);
    const retained = await this.settings.storage.restorePoint(report);
    if (retained) return retained;
    if (this.#initialRestore === undefined) {
      this.#initialRestore = this.settings.restoreFrom ? await resolveRestorePath(this.settings.restoreFrom, report) : null;
    }
    return this.#initialRestore;
  }

  #startAttempt(attempt: number, restore: CompletedCheckpoint | null): void {
    const execution = new ExecutionGraph(
      {
        jobId: this.jobId,
        graph: this.graph,
        attempt,
        mode: this.settings.checkpoint.mode,
        checkpointingEnabled: this.settings.checkpoint.enabled,
        batchSize: this.settings.batchSize,
        buffersPerChannel: this.settings.buffersPerChannel,
        backend: this.settings.backend,
        storage: this.settings.storage,
        restore,
        inspect: this.settings.inspect,
      },
      {
        taskFailed: (task, error) => {
          this.#lastError = error;
          this.emit('task-failed', { task: task.name, error, attempt });
          this.actor.send({ type: 'TASK_FAILED', error });
        },
        taskFinished: (task) => {
          this.coordinator.send({ type: 'TASK_FINISHED', subtask: subtaskKey(task.id) });
          // the actor state, not the phase: a task's phase turns 'finished' before its operators have closed
          if (execution.tasks.every((t) => t.actor.getSnapshot().value === 'finished')) this.actor.send({ type: 'ALL_FINISHED' });
        },
        allRunning: () => {
          this.coordinator.send({ type: 'START', expected: execution.subtaskKeys, parallelism: execution.parallelism });
          this.emit('running', { attempt, restoredFrom: restore?.id ?? null });
        },
        endOfInput: (task) => {
          this.#endOfInput(execution, task);
          this.emit('end-of-input', task);
        },
        acknowledge: (ack) => this.coordinator.send({ type: 'ACK', ack }),
        decline: (decline) => this.coordinator.send({ type: 'DECLINE', decline }),
      },
    );
    this.#execution = execution;
    this.#stopping = null;
    void execution.deploy();
  }

  /** A task consumed all its input: make sure a checkpoint reaches it so it can finish. */
  #endOfInput(execution: ExecutionGraph, task: Task): void {
    if (!this.settings.checkpoint.enabled || execution !== this.#execution || this.#held) return;
    const tracker = this.coordinator.getSnapshot().context.tracker;
    if (task.phase === 'finishing') {
      // checkpoints whose barrier can no longer reach it (its input ended first): take them directly
      for (const pending of tracker.pending.values()) {
        if (!pending.hasAcknowledged(subtaskKey(task.id))) task.triggerCheckpoint(pending.id, pending.timestamp, pending.options);
      }
    }
    const allEnded = execution.tasks.every((t) => !t.isSource || t.inputEnded);
    if (task.isSource && allEnded) {
      // every source is exhausted: take the final checkpoint now instead of waiting for the interval
      this.triggerCheckpoint().catch(() => {});
    }
  }

  #stopAttempt(reason: string): void {
    this.coordinator.send({ type: 'SUSPEND', reason });
    const execution = this.#execution;
    this.#stopping ??= execution ? execution.cancel() : Promise.resolve();
    this.#stopping.then(() => queueMicrotask(() => this.actor.send({ type: 'ATTEMPT_STOPPED' })));
  }

  #restartDelay(): number | null {
    if (this.#lastError instanceof UnrecoverableError) return null; // a restart would fail the same way
    const delay = this.settings.restartStrategy.onFailure(Date.now());
    if (delay !== null) {
      this.#restarts++;
      this.emit('restarting', { delayMs: delay, attempt: this.#attempt + 1 });
    }
    return delay;
  }

  #end(status: JobStatus): void {
    this.coordinator.send({ type: 'SHUTDOWN' });
    this.#execution?.scheduler.stop();
    // externalized retention decides what stays on disk; the result is settled once that is done
    this.settings.storage.shutdown(status as JobEndStatus).catch(() => {}).then(() => this.#settleResult(status));
  }

  #settleResult(status: JobStatus): void {
    const counts = this.checkpointCounts;
    const result: JobResult = {
      jobId: this.jobId,
      jobName: this.jobName,
      status,
      durationMs: Date.now() - this.#startedAt,
      restarts: this.#restarts,
      checkpoints: { completed: counts.completed, failed: counts.failed },
    };
    if (status === 'FAILED') {
      const cause = this.#lastError;
      const error =
        cause instanceof JobExecutionError
          ? cause
          : new JobExecutionError('FLOE_JOB_FAILED', `job '${this.jobName}' failed: ${cause instanceof Error ? cause.message : String(cause)} (${cause instanceof UnrecoverableError ? 'not restarted: restarting cannot fix this' : `restart strategy: ${this.settings.restartStrategy.description}`}, ${this.#restarts} restarts)`, { cause, hint: (cause as { hint?: string } | undefined)?.hint });
      this.#settle.reject(Object.assign(error, { result: { ...result, error: cause } }));
    } else {
      this.#settle.resolve(result);
    }
  }
}

