// One attempt of a job on a cluster: subtasks placed on TaskManagers' slots, control messages relayed over their websockets.
import { createActor, createMachine, type AnyActorRef, type EventObject } from 'xstate';
import type { Task } from '../actors/task.ts';
import { CHECKPOINT_COORDINATOR, JOB_MASTER, taskSystemId, type ToTaskMessage } from '../checkpoint/control-messages.ts';
import { serializeError, type SerializedError } from '../checkpoint/serialized-error.ts';
import { taskRestore, type ExecutionOptions, type JobExecution, type SubtaskView } from '../coordinator/execution-graph.ts';
import { FloeError } from '../errors.ts';
import { subtaskName } from '../graph/job-graph.ts';
import type { AttemptDeployment, TaskManagerFrame, TaskViewUpdate } from './cluster-frames.ts';
import type { JobManagerEndpoint, RegisteredTaskManager } from './job-manager-endpoint.ts';
import { inspectionEventOf } from './relayed-inspection.ts';

export interface ClusterJob {
  jobFile: string;
  config: Record<string, unknown>;
  slotRequestTimeoutMs: number;
}

/**
 * Slot sharing as Flink's: slot i holds subtask i of every vertex, so a job needs as many slots as its
 * highest parallelism; slots are taken round robin over the TaskManagers, spreading subtasks evenly.
 */
export function placeSubtasks(
  vertices: ReadonlyArray<{ id: string; parallelism: number }>,
  tms: ReadonlyArray<{ id: string; slots: number }>,
): Record<string, string> {
  const slots: string[] = [];
  const most = Math.max(0, ...tms.map((t) => t.slots));
  for (let s = 0; s < most; s++) for (const tm of tms) if (s < tm.slots) slots.push(tm.id);
  const placement: Record<string, string> = {};
  for (const v of vertices) for (let i = 0; i < v.parallelism; i++) placement[`${v.id}#${i}`] = slots[i]!;
  return placement;
}

const RELAY_END = 'floe.relay.end';

/** A remote task's stand-in in the job master's actor system: what it receives goes to the task's TaskManager. */
function relay(forward: (message: ToTaskMessage) => void) {
  return createMachine({
    initial: 'relaying',
    states: {
      relaying: {
        on: {
          [RELAY_END]: 'ended',
          '*': { actions: ({ event }) => forward(event as ToTaskMessage) },
        },
      },
      ended: { type: 'final' },
    },
  });
}

export class RemoteExecution implements JobExecution {
  readonly tasks: readonly Task[] = [];
  readonly subtaskKeys: string[] = [];
  readonly subtaskNames = new Map<string, string>();
  readonly sources: string[] = [];
  readonly parallelism: Map<string, number>;
  /** subtask key -> TaskManager id, once deployed */
  placement: Record<string, string> = {};
  readonly #proxies: AnyActorRef[] = [];
  /** what the TaskManagers relayed of their tasks, by subtask key */
  readonly #views = new Map<string, SubtaskView>();
  readonly #tms = new Map<string, RegisteredTaskManager>();
  /** TaskManagers of this attempt that have not reported it stopped */
  readonly #running = new Set<string>();
  #stopped: (() => void) | null = null;
  #over = false;
  readonly #onFrame = (tm: RegisteredTaskManager, frame: TaskManagerFrame) => this.#frame(tm, frame);
  readonly #onLost = (tm: RegisteredTaskManager, reason: string) => this.#lost(tm, reason);

  constructor(
    readonly options: ExecutionOptions,
    readonly endpoint: JobManagerEndpoint,
    readonly job: ClusterJob,
  ) {
    const { graph } = options;
    for (const v of graph.vertices) {
      for (let i = 0; i < v.parallelism; i++) {
        const key = `${v.id}#${i}`;
        this.subtaskKeys.push(key);
        this.subtaskNames.set(key, subtaskName(v, i));
        if (v.chain[0]?.source) this.sources.push(key);
      }
    }
    this.parallelism = new Map(graph.vertices.map((v) => [v.id, v.parallelism]));
    endpoint.on('frame', this.#onFrame);
    endpoint.on('lost', this.#onLost);
  }

  get #attempt(): number {
    return this.options.attempt;
  }

  task(): Task | undefined {
    return undefined;
  }

  subtaskViews(): SubtaskView[] {
    return [...this.#views.values()];
  }

  deploy(): void {
    const needed = Math.max(...this.options.graph.vertices.map((v) => v.parallelism));
    this.endpoint.waitForSlots(needed, this.job.slotRequestTimeoutMs).then(
      (tms) => this.#deployOn(tms),
      (error: unknown) => !this.#over && this.options.jobMaster.send({ type: 'FAIL_JOB', error: serializeError(error) }),
    );
  }

  #deployOn(all: RegisteredTaskManager[]): void {
    if (this.#over) return;
    const { graph, attempt, restore, jobMaster, jobId } = this.options;
    this.placement = placeSubtasks(graph.vertices, all);
    const used = new Set(Object.values(this.placement));
    const tms = all.filter((t) => used.has(t.id));
    for (const tm of tms) {
      this.#tms.set(tm.id, tm);
      this.#running.add(tm.id);
    }
    // stand-ins in the job master's actor system: the coordinator and the job master reach every task by its systemId
    for (const key of this.subtaskKeys) {
      const tm = this.#tms.get(this.placement[key]!)!;
      const systemId = taskSystemId(key, attempt);
      // named for the inspector: the task itself shows too, relayed from its TaskManager
      const proxy = createActor(
        relay((m) => tm.send({ k: 'ctl', to: systemId, m })),
        { parent: jobMaster, systemId, id: `relay to ${tm.id}: ${this.subtaskNames.get(key)}` },
      );
      proxy.start();
      this.#proxies.push(proxy);
    }
    const deployment: AttemptDeployment = {
      jobId,
      jobFile: this.job.jobFile,
      config: this.job.config,
      attempt,
      placement: this.placement,
      peers: Object.fromEntries(tms.map((t) => [t.id, t.data])),
      inspect: this.options.inspect !== undefined,
    };
    for (const tm of tms) tm.send({ k: 'deploy', deployment });
    for (const v of graph.vertices) {
      const uids = v.chain.map((x) => x.uid!);
      for (let i = 0; i < v.parallelism; i++)
        this.#send(`${v.id}#${i}`, { type: 'DEPLOY_TASK', attempt, restore: taskRestore(restore, uids) });
    }
  }

  #send(key: string, message: ToTaskMessage): void {
    (this.options.jobMaster.system.get(taskSystemId(key, this.#attempt)) as AnyActorRef | undefined)?.send(message as EventObject);
  }

  #frame(tm: RegisteredTaskManager, frame: TaskManagerFrame): void {
    if (this.#tms.get(tm.id) !== tm) return;
    switch (frame.k) {
      case 'ctl':
        // only to the job master and the coordinator; the attempt inside fences stale messages
        if (!this.#over && (frame.to === JOB_MASTER || frame.to === CHECKPOINT_COORDINATOR)) {
          (this.options.jobMaster.system.get(frame.to) as AnyActorRef | undefined)?.send(frame.m as EventObject);
        }
        return;
      case 'task':
        if (frame.a === this.#attempt) this.#view(tm.id, frame.v);
        return;
      case 'inspect':
        if (frame.a === this.#attempt && typeof frame.e?.sessionId === 'string')
          this.options.inspect?.(inspectionEventOf(frame.e, tm.id, this.options.jobMaster));
        return;
      case 'attempt-stopped':
        if (frame.attempt === this.#attempt) this.#settle(tm.id);
        return;
      case 'attempt-failed':
        if (frame.attempt === this.#attempt) this.#failSubtaskOf(tm.id, frame.error as SerializedError);
        return;
    }
  }

  /** A remote task's state, for the REST API and the live feed; only for a subtask placed on that TaskManager. */
  #view(tmId: string, v: TaskViewUpdate): void {
    if (typeof v?.key !== 'string' || this.placement[v.key] !== tmId) return;
    const [vertexId, index] = v.key.split('#');
    const id = { vertexId: vertexId!, subtaskIndex: Number(index) };
    this.#views.set(v.key, {
      id,
      name: this.subtaskNames.get(v.key)!,
      attempt: this.#attempt,
      value: v.value,
      status: String(v.status),
      backPressured: v.backPressured === true,
      taskManager: tmId,
    });
  }

  /** A lost TaskManager's subtasks count as failed: the restart strategy decides. */
  #lost(tm: RegisteredTaskManager, reason: string): void {
    if (this.#tms.get(tm.id) !== tm) return;
    const error = new FloeError('FLOE_TASKMANAGER_LOST', `TaskManager ${tm.id} (pid ${tm.pid}) was lost: ${reason}`, {
      hint: 'the job restarts from its latest completed checkpoint on the slots still available (new TaskManagers that register are used)',
    });
    error.stack = `${error.name} ${error.code}: ${error.message}`; // where the JobManager noticed it says nothing
    for (const [key, view] of this.#views)
      if (view.taskManager === tm.id) this.#views.set(key, { ...view, value: 'failed', status: 'error', backPressured: false });
    this.#failSubtaskOf(tm.id, serializeError(error));
    this.#settle(tm.id);
  }

  #failSubtaskOf(tmId: string, error: SerializedError): void {
    if (this.#over) return;
    const key = Object.keys(this.placement).find((k) => this.placement[k] === tmId);
    if (!key) return;
    const [vertexId, index] = key.split('#');
    this.options.jobMaster.send({
      type: 'TASK_FAILED',
      attempt: this.#attempt,
      subtask: { vertexId: vertexId!, subtaskIndex: Number(index) },
      error,
    });
  }

  #settle(tmId: string): void {
    this.#running.delete(tmId);
    if (this.#running.size === 0) this.#stopped?.();
  }

  drain(): void {
    for (const key of this.subtaskKeys) this.#send(key, { type: 'DRAIN_TASK', attempt: this.#attempt });
  }

  /** Cancels the attempt on every TaskManager; resolves when each reported it stopped (or was lost). */
  async cancel(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.#stopped = resolve));
    if (this.#running.size === 0) this.#stopped!();
    for (const id of this.#running) this.#tms.get(id)!.send({ k: 'cancel-attempt', attempt: this.#attempt });
    await done;
    this.#over = true;
    this.#dispose();
  }

  stop(): void {
    this.#over = true;
    for (const tm of this.endpoint.taskManagers) tm.send({ k: 'end-job', jobId: this.options.jobId });
    this.#dispose();
  }

  #dispose(): void {
    // a child of the job master cannot be stopped from outside: it ends itself, which frees its systemId
    for (const proxy of this.#proxies.splice(0)) proxy.send({ type: RELAY_END });
    this.endpoint.off('frame', this.#onFrame);
    this.endpoint.off('lost', this.#onLost);
  }

  maxQueuedBuffers(): number {
    return 0;
  }
}
