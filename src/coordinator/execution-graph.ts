// One attempt of a job: the task actors of every vertex, wired by channels, driven by one run loop.
import type { InspectionEvent } from 'xstate';
import { Channel } from '../actors/channel.ts';
import { EdgeWriter } from '../actors/output-writer.ts';
import { Scheduler } from '../actors/scheduler.ts';
import { Task, type TaskHost } from '../actors/task.ts';
import type { AcknowledgeCheckpoint, DeclineCheckpoint } from '../checkpoint/control-messages.ts';
import type { CheckpointOptions, CheckpointingMode } from '../checkpoint/types.ts';
import type { StateBackend } from '../backends/types.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { subtaskKey } from '../checkpoint/types.ts';
import { type CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';

export interface ExecutionOptions {
  jobId: string;
  graph: JobGraph;
  attempt: number;
  mode: CheckpointingMode;
  checkpointingEnabled: boolean;
  batchSize: number;
  buffersPerChannel: number;
  backend: StateBackend;
  /** where each operator subtask's snapshots go */
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  restore: CompletedCheckpoint | null;
  inspect?: (event: InspectionEvent) => void;
}

/** What the attempt reports to the job master. */
export interface ExecutionListener {
  taskFailed(task: Task, error: unknown): void;
  taskFinished(task: Task): void;
  taskRunning(task: Task): void;
  endOfInput(task: Task): void;
  acknowledge(ack: AcknowledgeCheckpoint): void;
  decline(decline: DeclineCheckpoint): void;
}

export class ExecutionGraph {
  readonly tasks: Task[] = [];
  readonly scheduler = new Scheduler();
  readonly #byKey = new Map<string, Task>();
  #stopped = false;

  constructor(readonly options: ExecutionOptions, listener: ExecutionListener) {
    const { graph } = options;
    // channels[edge][producerSubtask][consumerSubtask]
    const inputsOf = new Map<string, Channel[][]>(); // vertex -> subtask -> channels
    const outputsOf = new Map<string, EdgeWriter[][]>();
    for (const v of graph.vertices) {
      inputsOf.set(v.id, Array.from({ length: v.parallelism }, () => []));
      outputsOf.set(v.id, Array.from({ length: v.parallelism }, () => []));
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
          outputsOf.get(v.id)![p]!.push(new EdgeWriter(channels, edge.partitioning, options.batchSize, graph.maxParallelism, p));
        }
      }
    }
    const host: TaskHost = {
      wake: (task) => this.scheduler.wake(task),
      running: (task) => listener.taskRunning(task),
      endOfInput: (task) => listener.endOfInput(task),
      finished: (task) => listener.taskFinished(task),
      failed: (task, error) => {
        if (!this.#stopped) listener.taskFailed(task, error);
      },
      acknowledge: (ack) => {
        if (!this.#stopped) listener.acknowledge(ack);
      },
      decline: (decline) => {
        if (!this.#stopped) listener.decline(decline);
      },
    };
    const restore = options.restore ? { checkpointId: options.restore.id, operators: options.restore.operators, channelState: options.restore.channelState } : null;
    for (const v of graph.vertices) {
      for (let i = 0; i < v.parallelism; i++) {
        const task = new Task(
          {
            jobId: options.jobId,
            vertex: v,
            subtaskIndex: i,
            attempt: options.attempt,
            maxParallelism: graph.maxParallelism,
            mode: options.mode,
            checkpointingEnabled: options.checkpointingEnabled,
            batchSize: options.batchSize,
            inputs: inputsOf.get(v.id)![i]!,
            outputs: outputsOf.get(v.id)![i]!,
            backend: options.backend,
            storage: options.storage,
            restore,
            inspect: options.inspect,
          },
          host,
        );
        this.tasks.push(task);
        this.#byKey.set(subtaskKey(task.id), task);
      }
    }
  }

  /** subtask keys (vertex#index) that acknowledge checkpoints */
  get subtaskKeys(): string[] {
    return [...this.#byKey.keys()];
  }

  get parallelism(): Map<string, number> {
    return new Map(this.options.graph.vertices.map((v) => [v.id, v.parallelism]));
  }

  task(key: string): Task | undefined {
    return this.#byKey.get(key);
  }

  async deploy(): Promise<void> {
    await Promise.all(this.tasks.map((t) => t.deploy()));
  }

  /** Starts checkpoint `id` at the given subtasks (sources, and tasks whose input already ended). */
  triggerCheckpoint(id: number, timestamp: number, options: CheckpointOptions, subtasks: readonly string[]): void {
    for (const key of subtasks) this.#byKey.get(key)?.triggerCheckpoint(id, timestamp, options);
  }

  notifyCheckpointComplete(id: number): void {
    for (const t of this.tasks) void t.notifyCheckpointComplete(id);
  }

  notifyCheckpointAborted(id: number): void {
    for (const t of this.tasks) void t.notifyCheckpointAborted(id);
  }

  /** Cancels every task: stops the run loop, closes operators (sinks abort their open transactions). */
  async cancel(): Promise<void> {
    this.#stopped = true;
    this.scheduler.stop();
    await Promise.all(this.tasks.map((t) => t.cancel()));
  }

  /** Largest number of data buffers any channel ever held (backpressure specs). */
  maxQueuedBuffers(): number {
    let max = 0;
    for (const t of this.tasks) for (const ch of t.gate.channels) max = Math.max(max, ch.maxQueuedData);
    return max;
  }
}
