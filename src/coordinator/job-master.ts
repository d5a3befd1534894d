// The job master: deploys a job's tasks, runs its checkpoint coordinator, and restarts it after failures.
import { EventEmitter } from 'node:events';
import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { Task } from '../actors/task.ts';
import type { CheckpointStats, CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { CHECKPOINT_COORDINATOR, JOB_MASTER } from '../checkpoint/control-messages.ts';
import { deserializeError, serializeError } from '../checkpoint/serialized-error.ts';
import { loadNativeDecoding } from '../checkpoint/state-value-codec.ts';
import { subtaskKey, type CheckpointOptions, type SubtaskId } from '../checkpoint/types.ts';
import type { StateBackend } from '../backends/types.ts';
import type { CheckpointStorage, JobEndStatus, RestoreWarning } from '../storage/types.ts';
import type { CheckpointConfig } from '../config/checkpoint-config.ts';
import { isUnrecoverable, JobExecutionError } from '../errors.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { persistCheckpoint, readingSavepointFiles } from '../savepoints/savepoint-storage.ts';
import { checkpointCoordinatorMachine, type CheckpointCoordinatorMachine } from './checkpoint-coordinator.ts';
import { pendingCount } from './coordinator-state.ts';
import { ExecutionGraph, type ExecutionOptions, type JobExecution } from './execution-graph.ts';
import { jobMasterMachine, type JobMasterMachine, type JobStatus } from './job-master-machine.ts';
import type { RestartStrategy } from './restart-strategy.ts';

/** The job master's state value as a JobStatus: RESTARTING has sub-states (stopping, waiting), the status is the top state. */
function statusOf(value: unknown): JobStatus {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as JobStatus;
}

export interface JobSettings {
  checkpoint: CheckpointConfig;
  backend: StateBackend;
  storage: CheckpointStorage;
  restartStrategy: RestartStrategy;
  batchSize: number;
  buffersPerChannel: number;
  /** `pipeline.auto-watermark-interval` in ms */
  autoWatermarkInterval?: number;
  inspect?: (event: InspectionEvent) => void;
  /**
   * the first attempt restores from here (a savepoint or retained checkpoint, validated and matched to
   * the job): later restarts use newer checkpoints, this one until the job completes its own
   */
  restore?: CompletedCheckpoint | null;
  /** `restore` is a savepoint: its state files are read where they are (checksum verified), for the job's whole life */
  restoresSavepoint?: boolean;
  /** where the attempt's tasks run: this process (the default) or a cluster's TaskManagers */
  createExecution?: (options: ExecutionOptions) => JobExecution;
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
  'end-of-input': [SubtaskId];
}

export class JobMaster extends EventEmitter<JobEvents> {
  readonly actor: Actor<JobMasterMachine>;
  readonly coordinator: Actor<CheckpointCoordinatorMachine>;
  #execution: JobExecution | null = null;
  #stopping: Promise<void> | null = null;
  /** the savepoint or checkpoint the job was started from, the restart point until the job completes its own */
  #initialRestore: CompletedCheckpoint | null | undefined;
  /** trigger requests waiting for their checkpoint, by request id */
  readonly #requests = new Map<number, { resolve(c: CompletedCheckpoint): void; reject(e: Error): void }>();
  #nextRequestId = 1;
  #status: JobStatus | undefined;
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
    this.#result = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#result.catch(() => {}); // callers that never ask for the result must not crash the process
    // the job master is the root of the job's actor system: the coordinator (and the tasks) join it by systemId
    this.actor = createActor(
      jobMasterMachine.provide({
        actions: {
          deployAttempt: (_, { attempt }) => this.#deploy(attempt),
          stopAttempt: (_, { reason }) => this.#stopAttempt(reason),
          endJob: (_, { status }) => this.#end(status),
        },
      }),
      { systemId: JOB_MASTER, input: { restartStrategy: settings.restartStrategy }, inspect: settings.inspect },
    );
    this.coordinator = createActor(
      checkpointCoordinatorMachine.provide({
        actions: {
          persistCheckpoint: ({ self }, { checkpoint }) => {
            persistCheckpoint(this.settings.storage, checkpoint, this).then(
              (externalPointer) =>
                self.send({ type: 'PERSISTED', checkpointId: checkpoint.id, ...(externalPointer ? { externalPointer } : {}) }),
              (error: unknown) => self.send({ type: 'PERSIST_FAILED', checkpointId: checkpoint.id, error: serializeError(error) }),
            );
          },
          discardCheckpoint: (_, { checkpointId }) => void this.settings.storage.discard(checkpointId).catch(() => {}),
        },
      }),
      {
        parent: this.actor,
        systemId: CHECKPOINT_COORDINATOR,
        input: { config: settings.checkpoint, maxParallelism: graph.maxParallelism, latest: settings.restore ?? null },
      },
    );
    this.coordinator.on('checkpoint-completed', ({ checkpoint, stats }) => this.emit('checkpoint-completed', checkpoint, stats));
    this.coordinator.on('checkpoint-aborted', ({ checkpointId, cause }) => this.emit('checkpoint-failed', checkpointId, cause.message));
    this.coordinator.on('request-answered', ({ requestId, checkpoint, error }) => {
      const request = this.#requests.get(requestId);
      this.#requests.delete(requestId);
      if (checkpoint) request?.resolve(checkpoint);
      else request?.reject(deserializeError(error!));
    });
    this.actor.on('running', (e) => this.emit('running', { attempt: e.attempt, restoredFrom: e.restoredFrom }));
    this.actor.on('restarting', (e) => this.emit('restarting', { delayMs: e.delayMs, attempt: e.attempt }));
    this.actor.on('task-failed', ({ subtask, error, attempt }) => {
      const task = this.#execution?.task(subtaskKey(subtask));
      this.emit('task-failed', { task: task?.name ?? subtaskKey(subtask), error: deserializeError(error), attempt });
    });
    this.actor.on('end-of-input', ({ subtask }) => {
      this.emit('end-of-input', subtask);
    });
    this.actor.subscribe((s) => {
      const status = statusOf(s.value);
      if (status === this.#status) return;
      this.#status = status;
      this.emit('status', status);
    });
  }

  get status(): JobStatus {
    return statusOf(this.actor.getSnapshot().value);
  }

  /** wall clock when the job was submitted, ms */
  get startedAt(): number {
    return this.#startedAt;
  }

  get result(): Promise<JobResult> {
    return this.#result;
  }

  get execution(): JobExecution | null {
    return this.#execution;
  }

  get latestCheckpoint(): CompletedCheckpoint | null {
    return this.coordinator.getSnapshot().context.latest;
  }

  get checkpointHistory(): readonly CheckpointStats[] {
    return this.coordinator.getSnapshot().context.history;
  }

  get checkpointCounts(): { triggered: number; completed: number; failed: number } {
    return { ...this.coordinator.getSnapshot().context.counts };
  }

  /** checkpoints triggered and not yet completed or aborted */
  get pendingCheckpoints(): number {
    return pendingCount(this.coordinator.getSnapshot().context);
  }

  start(): void {
    this.actor.start();
    this.coordinator.start();
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
    this.coordinator.send({ type: held ? 'HOLD' : 'RESUME' });
  }

  /** Takes a checkpoint (or savepoint) now; resolves when it completes (a savepoint's path is its externalPointer). */
  triggerCheckpoint(options: CheckpointOptions = { kind: 'checkpoint', alignment: 'aligned' }): Promise<CompletedCheckpoint> {
    return new Promise((resolve, reject) => {
      const requestId = this.#nextRequestId++;
      this.#requests.set(requestId, { resolve, reject });
      this.coordinator.send({ type: 'TRIGGER', request: { options, requestId } });
    });
  }

  #deploy(attempt: number): void {
    this.#execution = null;
    this.#stopping = null;
    this.#restorePoint().then(
      (restore) => {
        if (attempt !== this.actor.getSnapshot().context.attempt || this.status !== 'RUNNING') return; // canceled or failed meanwhile
        if (restore) this.coordinator.send({ type: 'RESTORED', checkpoint: restore });
        this.#startAttempt(attempt, restore);
      },
      (error: unknown) => {
        if (attempt !== this.actor.getSnapshot().context.attempt) return;
        this.actor.send({ type: 'FAIL_JOB', error: serializeError(error) });
      },
    );
  }

  /** The newest retained checkpoint of this job that validates (damaged ones reported), else the one the job was started from. */
  async #restorePoint(): Promise<CompletedCheckpoint | null> {
    const report = (warning: RestoreWarning) => this.emit('restore-fallback', warning);
    const restore = (await this.settings.storage.restorePoint(report)) ?? this.settings.restore ?? null;
    if (restore) await loadNativeDecoding(); // the attempt decodes its snapshots and in-flight data next
    return restore;
  }

  #startAttempt(attempt: number, restore: CompletedCheckpoint | null): void {
    const { storage } = this.settings;
    // a job started from a savepoint reads the savepoint's files where they are, for its whole life
    const restoresSavepoint = this.settings.restoresSavepoint === true;
    const options: ExecutionOptions = {
      jobId: this.jobId,
      graph: this.graph,
      attempt,
      mode: this.settings.checkpoint.mode,
      checkpointingEnabled: this.settings.checkpoint.enabled,
      batchSize: this.settings.batchSize,
      autoWatermarkInterval: this.settings.autoWatermarkInterval,
      buffersPerChannel: this.settings.buffersPerChannel,
      backend: this.settings.backend,
      storage: {
        forSubtask: (uid, i) => (restoresSavepoint ? readingSavepointFiles(storage.forSubtask(uid, i)) : storage.forSubtask(uid, i)),
      },
      restore,
      jobMaster: this.actor,
      ...(this.settings.inspect ? { inspect: this.settings.inspect } : {}),
    };
    const execution = this.settings.createExecution ? this.settings.createExecution(options) : new ExecutionGraph(options);
    this.#execution = execution;
    this.#stopping = null;
    this.actor.send({
      type: 'ATTEMPT_DEPLOYED',
      plan: {
        attempt,
        subtasks: execution.subtaskKeys,
        sources: execution.sources,
        parallelism: Object.fromEntries(execution.parallelism),
        names: Object.fromEntries(execution.subtaskNames),
        restoredFrom: restore?.id ?? null,
      },
    });
    execution.deploy();
  }

  #stopAttempt(reason: string): void {
    this.coordinator.send({ type: 'SUSPEND', reason });
    const execution = this.#execution;
    this.#stopping ??= execution ? execution.cancel() : Promise.resolve();
    this.#stopping.then(() => queueMicrotask(() => this.actor.send({ type: 'ATTEMPT_STOPPED' })));
  }

  #end(status: JobStatus): void {
    const end = { jobId: this.jobId, status: status as JobEndStatus, lastCheckpointId: this.latestCheckpoint?.id ?? null };
    this.coordinator.send({ type: 'SHUTDOWN' });
    this.#execution?.stop();
    // externalized retention decides what stays on disk, sinks settle what their writers left, the backend's local
    // directories go; the result is settled once all that is done
    const sinks = this.graph.vertices.flatMap((v) => v.chain.flatMap((t) => (t.sink?.onJobEnd ? [t.sink] : [])));
    const ended = [this.settings.storage.shutdown(end.status), ...sinks.map(async (sink) => sink.onJobEnd!(end))];
    void Promise.allSettled(ended)
      .then(() => this.settings.backend.releaseJob?.(this.jobId))
      .catch(() => {})
      .then(() => this.#settleResult(status));
  }

  #settleResult(status: JobStatus): void {
    const { restarts, failure } = this.actor.getSnapshot().context;
    const counts = this.checkpointCounts;
    const result: JobResult = {
      jobId: this.jobId,
      jobName: this.jobName,
      status,
      durationMs: Date.now() - this.#startedAt,
      restarts,
      checkpoints: { completed: counts.completed, failed: counts.failed },
    };
    if (status === 'FAILED') {
      const cause = failure ? deserializeError(failure) : undefined;
      // the cause's own code is named: it says what to fix (FLOE_BAD_TIMESTAMP, FLOE_TIMER_NOT_KEYED, ...)
      const causeCode = (cause as { code?: unknown } | undefined)?.code;
      const message = cause instanceof Error ? cause.message : String(cause);
      const what =
        typeof causeCode === 'string' && causeCode.startsWith('FLOE_') && !message.includes(causeCode)
          ? `${causeCode}: ${message}`
          : message;
      const error =
        cause instanceof JobExecutionError
          ? cause
          : new JobExecutionError(
              'FLOE_JOB_FAILED',
              `job '${this.jobName}' failed: ${what} (${isUnrecoverable(cause) ? 'not restarted: restarting cannot fix this' : `restart strategy: ${this.settings.restartStrategy.description}`}, ${restarts} restarts)`,
              { cause, hint: (cause as { hint?: string } | undefined)?.hint },
            );
      this.#settle.reject(Object.assign(error, { result: { ...result, error: cause } }));
    } else {
      this.#settle.resolve(result);
    }
  }
}
