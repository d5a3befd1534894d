// One attempt of a job: the task actors of every vertex, wired by channels, driven by one run loop.
import { waitFor, type AnyActorRef, type EventObject, type InspectionEvent } from 'xstate';
import { Channel } from '../actors/channel.ts';
import { EdgeWriter } from '../actors/output-writer.ts';
import { Scheduler } from '../actors/scheduler.ts';
import { Task, taskSpecOf } from '../actors/task.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { taskSystemId, type TaskRestore, type ToTaskMessage } from '../checkpoint/control-messages.ts';
import { subtaskKey, type CheckpointingMode, type SubtaskId } from '../checkpoint/types.ts';
import type { StateBackend } from '../backends/types.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import type { JobGraph } from '../graph/job-graph.ts';

export interface ExecutionOptions {
  jobId: string;
  graph: JobGraph;
  attempt: number;
  mode: CheckpointingMode;
  checkpointingEnabled: boolean;
  batchSize: number;
  buffersPerChannel: number;
  /** `pipeline.auto-watermark-interval` in ms */
  autoWatermarkInterval?: number;
  backend: StateBackend;
  /** where each operator subtask's snapshots go */
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  restore: CompletedCheckpoint | null;
  /** the job master's actor: the attempt's task actors join its system, and report to it and to the coordinator */
  jobMaster: AnyActorRef;
  /** the job's inspection callback (--inspect): tasks in other processes relay their events to it */
  inspect?: (event: InspectionEvent) => void;
}

/** What the job's views (REST, dashboard) read of one subtask, wherever it runs. */
export interface SubtaskView {
  id: SubtaskId;
  name: string;
  attempt: number;
  /** the task actor's state value (`{ running: 'processing' }`) */
  value: unknown;
  /** the task actor's status: active, done, error, stopped */
  status: string;
  /** waiting for output credit now */
  backPressured: boolean;
  /** the TaskManager it runs in; null: this process */
  taskManager: string | null;
}

/** A task actor in this process, as the views read it. */
export function viewOf(task: Task): SubtaskView {
  const snapshot = task.actor.getSnapshot();
  return {
    id: task.id,
    name: task.name,
    attempt: task.spec.attempt,
    value: snapshot.value,
    status: snapshot.status,
    backPressured: task.backPressured,
    taskManager: null,
  };
}

/** The restore state of one task: its chain's operators, and in-flight data for its head operator. */
export function taskRestore(restore: CompletedCheckpoint | null, uids: readonly string[]): TaskRestore | null {
  if (!restore) return null;
  const operators: TaskRestore['operators'] = {};
  for (const uid of uids) if (restore.operators[uid]) operators[uid] = restore.operators[uid];
  // every subtask's in-flight data of the head operator: a task checks the layout it was taken at
  const channelState = Object.entries(restore.channelState ?? {}).filter(([, cs]) => cs.operatorUid === uids[0]);
  return { checkpointId: restore.id, operators, ...(channelState.length > 0 ? { channelState: Object.fromEntries(channelState) } : {}) };
}

/**
 * One attempt of a job as the job master drives it: the task actors in this process (ExecutionGraph),
 * or deployed to TaskManager processes (the cluster's, which provides it through JobSettings.createExecution).
 */
export interface JobExecution {
  /** the task actors that run in this process (none when every task runs in a TaskManager) */
  readonly tasks: readonly Task[];
  readonly subtaskKeys: string[];
  readonly subtaskNames: Map<string, string>;
  readonly sources: string[];
  readonly parallelism: Map<string, number>;
  task(key: string): Task | undefined;
  /** every subtask of the attempt that has been deployed, in this process or relayed from its TaskManager */
  subtaskViews(): SubtaskView[];
  deploy(): void;
  drain(): void;
  cancel(): Promise<void>;
  /** the job ended: stop what still runs (the run loop, remote resources) */
  stop(): void;
  /** largest number of data buffers any channel in this process ever held (backpressure specs) */
  maxQueuedBuffers(): number;
}

export class ExecutionGraph implements JobExecution {
  readonly tasks: Task[] = [];
  readonly scheduler = new Scheduler();
  readonly #byKey = new Map<string, Task>();

  constructor(readonly options: ExecutionOptions) {
    const { graph } = options;
    // channels[edge][producerSubtask][consumerSubtask]
    const inputsOf = new Map<string, Channel[][]>(); // vertex -> subtask -> channels
    const outputsOf = new Map<string, EdgeWriter[][]>();
    for (const v of graph.vertices) {
      inputsOf.set(
        v.id,
        Array.from({ length: v.parallelism }, () => []),
      );
      outputsOf.set(
        v.id,
        Array.from({ length: v.parallelism }, () => []),
      );
    }
    for (const v of graph.vertices) {
      for (const edge of v.outputs) {
        const { target } = edge;
        for (let p = 0; p < v.parallelism; p++) {
          const targets = edge.partitioning.type === 'forward' ? [p] : Array.from({ length: target.parallelism }, (_, i) => i);
          const channels = targets.map((c) => {
            const gate = inputsOf.get(target.id)![c]!;
            const ch = new Channel(options.buffersPerChannel, gate.length);
            gate.push(ch);
            return ch;
          });
          outputsOf
            .get(v.id)!
            [p]!.push(new EdgeWriter(channels, edge.partitioning, options.batchSize, graph.maxParallelism, p, edge.outputTag));
        }
      }
    }
    const runtime = { wake: (task: Task) => this.scheduler.wake(task), jobMaster: options.jobMaster };
    for (const v of graph.vertices) {
      for (let i = 0; i < v.parallelism; i++) {
        const task = new Task(taskSpecOf(options, graph.maxParallelism, v, i, inputsOf.get(v.id)![i]!, outputsOf.get(v.id)![i]!), runtime);
        this.tasks.push(task);
        this.#byKey.set(subtaskKey(task.id), task);
      }
    }
  }

  /** subtask keys (vertex#index) that acknowledge checkpoints */
  get subtaskKeys(): string[] {
    return [...this.#byKey.keys()];
  }

  /** subtask key -> the task's name, for messages people read */
  get subtaskNames(): Map<string, string> {
    return new Map([...this.#byKey].map(([key, task]) => [key, task.name]));
  }

  /** subtask keys of the source tasks (they start checkpoints) */
  get sources(): string[] {
    return this.tasks.filter((t) => t.isSource).map((t) => subtaskKey(t.id));
  }

  get parallelism(): Map<string, number> {
    return new Map(this.options.graph.vertices.map((v) => [v.id, v.parallelism]));
  }

  task(key: string): Task | undefined {
    return this.#byKey.get(key);
  }

  subtaskViews(): SubtaskView[] {
    return this.tasks.map(viewOf);
  }

  /** A control message to one task of this attempt, by its systemId. */
  #send(task: Task, message: ToTaskMessage): void {
    (this.options.jobMaster.system.get(taskSystemId(task.id, this.options.attempt)) as AnyActorRef | undefined)?.send(
      message as EventObject,
    );
  }

  /** Starts every task actor, then deploys each with the state of its chain's operators. */
  deploy(): void {
    for (const t of this.tasks) t.actor.start();
    const { attempt, restore } = this.options;
    for (const t of this.tasks)
      this.#send(t, {
        type: 'DEPLOY_TASK',
        attempt,
        restore: taskRestore(
          restore,
          t.spec.vertex.chain.map((x) => x.uid!),
        ),
      });
  }

  /** stop --drain: every source ends its input (other tasks ignore it). */
  drain(): void {
    for (const t of this.tasks) this.#send(t, { type: 'DRAIN_TASK', attempt: this.options.attempt });
  }

  /** Cancels every task: stops the run loop, closes operators (sinks abort their open transactions); resolves when every task actor is done. */
  async cancel(): Promise<void> {
    this.scheduler.stop();
    for (const t of this.tasks) this.#send(t, { type: 'CANCEL_TASK', attempt: this.options.attempt });
    // an actor that stopped on an error (reported to the job master) counts as stopped too
    await Promise.all(this.tasks.map((t) => waitFor(t.actor, (s) => s.status !== 'active').catch(() => {})));
  }

  stop(): void {
    this.scheduler.stop();
  }

  /** Largest number of data buffers any channel ever held (backpressure specs). */
  maxQueuedBuffers(): number {
    let max = 0;
    for (const t of this.tasks) for (const ch of t.gate.channels) max = Math.max(max, ch.maxQueuedData);
    return max;
  }
}
