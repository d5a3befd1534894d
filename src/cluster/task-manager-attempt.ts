// One attempt of a job inside a TaskManager: the subtasks placed here, wired by local channels and remote ones.
import { createActor, fromCallback, waitFor, type AnyActorRef, type EventObject, type InspectionEvent } from 'xstate';
import { Channel } from '../actors/channel.ts';
import { EdgeWriter } from '../actors/output-writer.ts';
import { Scheduler } from '../actors/scheduler.ts';
import { Task, taskSpecOf } from '../actors/task.ts';
import type { StateBackend } from '../backends/types.ts';
import {
  CHECKPOINT_COORDINATOR,
  CONTROL_MESSAGE_TYPES,
  JOB_MASTER,
  taskSystemId,
  type FromTaskMessage,
  type ToTaskMessage,
} from '../checkpoint/control-messages.ts';
import { subtaskKey, type CheckpointingMode } from '../checkpoint/types.ts';
import type { ChannelMessage } from '../actors/types.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import type { TaskViewUpdate } from './cluster-frames.ts';
import { relayedActor, relayInspection, type RelayedInspection } from './relayed-inspection.ts';
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
  /** pipeline.auto-watermark-interval of the job's configuration */
  autoWatermarkInterval?: number;
  buffersPerChannel: number;
  backend: StateBackend;
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  /** a task's control message to the JobManager (`to`: the job master or the coordinator) */
  control(to: string, message: FromTaskMessage): void;
  /** a channel message or credits to the TaskManager `peer` */
  data(peer: string, frame: { k: 'msg'; ch: string; m: ChannelMessage } | { k: 'credit'; ch: string; n: number }): void;
  /** a task's state changed: what the JobManager's views show of it */
  view?(update: TaskViewUpdate): void;
  /** the job is inspected: a task actor's inspection event, for the JobManager's inspector */
  inspect?(event: RelayedInspection): void;
}

/** how often backpressure (not a state change) is looked at for the views */
const VIEW_POLL_MS = 500;

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
  #viewPoll: NodeJS.Timeout | undefined;

  constructor(readonly setup: AttemptSetup) {
    const { graph, placement, self } = setup;
    const local = (vertexId: string, i: number) => placement[`${vertexId}#${i}`] === self;
    const relay = setup.inspect;
    this.root = createActor(forwarder(JOB_MASTER, setup.control), {
      systemId: JOB_MASTER,
      ...(relay
        ? {
            inspect: (event: InspectionEvent) => {
              const relayed = relayInspection(event);
              if (relayed) relay(relayed);
            },
          }
        : {}),
    });
    this.#coordinator = createActor(forwarder(CHECKPOINT_COORDINATOR, setup.control), {
      parent: this.root,
      systemId: CHECKPOINT_COORDINATOR,
    });
    // the same wiring as the execution graph's, in the same order (gate indexes match every process's)
    const inputsOf = new Map<string, Channel[][]>();
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
          if (producerHere)
            outputsOf
              .get(v.id)!
              [p]!.push(new EdgeWriter(channels, edge.partitioning, setup.batchSize, graph.maxParallelism, p, edge.outputTag));
        }
      });
    }
    const runtime = { wake: (task: Task) => this.scheduler.wake(task), jobMaster: this.root };
    for (const v of graph.vertices) {
      for (let i = 0; i < v.parallelism; i++) {
        if (!local(v.id, i)) continue;
        this.tasks.push(
          new Task(taskSpecOf(setup, graph.maxParallelism, v, i, inputsOf.get(v.id)![i]!, outputsOf.get(v.id)![i]!), runtime),
        );
      }
    }
  }

  /** Starts the actors, then announces every remote producer its credits (nothing is sent before). */
  start(): void {
    this.root.start();
    this.#coordinator.start();
    for (const t of this.tasks) this.setup.inspect?.(relayedActor(t.actor));
    for (const t of this.tasks) t.actor.start();
    this.#relayViews();
    for (const [id, ch] of this.#inbound) {
      const peer = this.#producerOf(id);
      // one credit back per buffer taken off the queue, as in-process
      ch.onCredit = () => this.setup.data(peer, { k: 'credit', ch: id, n: 1 });
      this.setup.data(peer, { k: 'credit', ch: id, n: ch.capacity });
    }
  }

  /** Each task's state value (on every change) and backpressure (polled) to the JobManager's views. */
  #relayViews(): void {
    const send = this.setup.view;
    if (!send) return;
    const last = new Map<Task, string>();
    const update = (t: Task) => {
      const snapshot = t.actor.getSnapshot();
      const v: TaskViewUpdate = { key: subtaskKey(t.id), value: snapshot.value, status: snapshot.status, backPressured: t.backPressured };
      const text = JSON.stringify(v);
      if (last.get(t) === text) return;
      last.set(t, text);
      send(v);
    };
    for (const t of this.tasks) {
      t.actor.subscribe({ next: () => update(t), error: () => update(t), complete: () => update(t) });
      update(t);
    }
    this.#viewPoll = setInterval(() => this.tasks.forEach(update), VIEW_POLL_MS).unref();
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
    clearInterval(this.#viewPoll);
    this.scheduler.stop();
    // stopping the root stops its children (the coordinator's stand-in, the tasks)
    this.root.stop();
  }
}
