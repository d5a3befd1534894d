// One attempt of a job inside a TaskManager: the subtasks placed here, wired by local channels and remote ones.
import { createActor, fromCallback, waitFor, type AnyActorRef, type EventObject } from 'xstate';
import { Channel } from '../actors/channel.ts';
import { EdgeWriter } from '../actors/output-writer.ts';
import { Scheduler } from '../actors/scheduler.ts';
import { Task } from '../actors/task.ts';
import type { StateBackend } from '../backends/types.ts';
import { CHECKPOINT_COORDINATOR, CONTROL_MESSAGE_TYPES, JOB_MASTER, taskSystemId, type FromTaskMessage, type ToTaskMessage } from '../checkpoint/control-messages.ts';
import type { CheckpointingMode } from '../checkpoint/types.ts';
import type { ChannelMessage } from '../actors/types.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import { RemoteOutputChannel } from './remote-channel.ts';

export interface AttemptSetup {
  jobId: string;
  attempt: number;
  graph: JobGraph;
  /** subtask key -> TaskManager id */
  placement: Record<string, string>;
  /** this TaskManager's id */
  self: string;
  mode: CheckpointingMode;
  checkpointingEnabled: boolean;
  batchSize: number;
  buffersPerChannel: number;
  backend: StateBackend;
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  /** a task's control message to the JobManager (`to`: the job master or the coordinator) */
  control(to: string, message: FromTaskMessage): void;
  /** a channel message or credits to the TaskManager `peer` */
  data(peer: string, frame: { k: 'msg'; ch: string; m: ChannelMessage } | { k: 'credit'; ch: string; n: number }): void;
}

const CONTROL_TYPES = new Set<string>(CONTROL_MESSAGE_TYPES);

/** A stand-in for the job master (or coordinator) in this process: what a task sends it goes to the JobManager. */
function forwarder(to: string, control: AttemptSetup['control']) {
  return fromCallback<EventObject>(({ receive }) => {
    receive((event) => {
      if (CONTROL_TYPES.has(event.type)) control(to, event as FromTaskMessage);
    });
  });
}

export class TaskManagerAttempt {
  readonly tasks: Task[] = [];
  readonly scheduler = new Scheduler();
  /** the root of this attempt's actor system here: tasks find the job master and the coordinator by systemId in it */
  readonly root: AnyActorRef;
  readonly #coordinator: AnyActorRef;
  /** channels whose producer is remote, by channel id: the consumer's queue */
  readonly #inbound = new Map<string, Channel>();
  /** channels whose consumer is remote, by channel id */
  readonly #outbound = new Map<string, RemoteOutputChannel>();

  constructor(readonly setup: AttemptSetup) {
    const { graph, placement, self } = setup;
    const local = (vertexId: string, i: number) => placement[`${vertexId}#${i}`] === self;
    this.root = createActor(forwarder(JOB_MASTER, setup.control), { systemId: JOB_MASTER });
    this.#coordinator = createActor(forwarder(CHECKPOINT_COORDINATOR, setup.control), { parent: this.root, systemId: CHECKPOINT_COORDINATOR });
    // the same wiring as the execution graph's, in the same order (gate indexes match every process's)
    const inputsOf = new Map<string, Channel[][]>();
    const outputsOf = new Map<string, EdgeWriter[][]>();
    for (const v of graph.vertices) {
      inputsOf.set(v.id, Array.from({ length: v.parallelism }, () => []));
      outputsOf.set(v.id, Array.from({ length: v.parallelism }, () => []));
    }
    for (const v of graph.vertices) {
      v.outputs.forEach((edge, e) => {
        const { target } = edge;
        for (let p = 0; p < v.parallelism; p++) {
          const targets = edge.partitioning.type === 'forward' ? [p] : Array.from({ length: target.parallelism }, (_, i) => i);
          const producerHere = local(v.id, p);
          const channels = targets.map((c) => {
            const gate = inputsOf.get(target.id)![c]!;
            const id = `${v.id}.${e}:${p}:${c}`;
            const consumerHere = local(target.id, c);
            if (consumerHere) {
              const ch = new Channel(setup.buffersPerChannel, gate.length);
              gate.push(ch);
              if (!producerHere) this.#inbound.set(id, ch);
              return ch;
            }
            gate.push(null as never); // counted, never used: the consumer runs elsewhere
            if (!producerHere) return null as never;
            const peer = placement[`${target.id}#${c}`]!;
            const remote = new RemoteOutputChannel(id, (m) => setup.data(peer, { k: 'msg', ch: id, m }));
            this.#outbound.set(id, remote);
            return remote;
          });
          if (producerHere) outputsOf.get(v.id)![p]!.push(new EdgeWriter(channels, edge.partitioning, setup.batchSize, graph.maxParallelism, p));
        }
      });
    }
    const runtime = { wake: (task: Task) => this.scheduler.wake(task), jobMaster: this.root };
    for (const v of graph.vertices) {
      for (let i = 0; i < v.parallelism; i++) {
        if (!local(v.id, i)) continue;
        this.tasks.push(
          new Task(
            {
              jobId: setup.jobId,
              vertex: v,
              subtaskIndex: i,
              attempt: setup.attempt,
              maxParallelism: graph.maxParallelism,
              mode: setup.mode,
              checkpointingEnabled: setup.checkpointingEnabled,
              batchSize: setup.batchSize,
              inputs: inputsOf.get(v.id)![i]!,
              outputs: outputsOf.get(v.id)![i]!,
              backend: setup.backend,
              storage: setup.storage,
            },
            runtime,
          ),
        );
      }
    }
  }

  /** Starts the actors, then announces every remote producer its credits (nothing is sent before). */
  start(): void {
    this.root.start();
    this.#coordinator.start();
    for (const t of this.tasks) t.actor.start();
    for (const [id, ch] of this.#inbound) {
      const peer = this.#producerOf(id);
      // one credit back per buffer taken off the queue, as in-process
      ch.onCredit = () => this.setup.data(peer, { k: 'credit', ch: id, n: 1 });
      this.setup.data(peer, { k: 'credit', ch: id, n: ch.capacity });
    }
  }

  #producerOf(channelId: string): string {
    const [edge, p] = channelId.split(':');
    const vertexId = edge!.slice(0, edge!.indexOf('.'));
    return this.setup.placement[`${vertexId}#${p}`]!;
  }

  /** A control message from the JobManager to a task of this attempt, by its systemId. */
  deliver(systemId: string, message: ToTaskMessage): void {
    (this.root.system.get(systemId) as AnyActorRef | undefined)?.send(message as EventObject);
  }

  /** A channel message from a remote producer. */
  receive(channelId: string, message: ChannelMessage): void {
    this.#inbound.get(channelId)?.push(message);
  }

  credit(channelId: string, n: number): void {
    this.#outbound.get(channelId)?.addCredit(n);
  }

  /** Cancels every task still running; resolves when every task actor is done. */
  async cancel(): Promise<void> {
    this.scheduler.stop();
    for (const t of this.tasks) this.deliver(taskSystemId(t.id, this.setup.attempt), { type: 'CANCEL_TASK', attempt: this.setup.attempt });
    await Promise.all(this.tasks.map((t) => waitFor(t.actor, (s) => s.status !== 'active').catch(() => {})));
    this.dispose();
  }

  dispose(): void {
    this.scheduler.stop();
    // stopping the root stops its children (the coordinator's stand-in, the tasks)
    this.root.stop();
  }
}
