// A task: one subtask of a job vertex — its actor, checkpointed input gate, subtask checkpointer, operator chain and output.
import { createActor, type Actor, type AnyActorRef, type EventObject } from 'xstate';
import type { StateBackend } from '../backends/types.ts';
import {
  recipientsOf,
  taskSystemId,
  type DeployTask,
  type FromTaskMessage,
  type TaskMetricsSample,
  type TaskPhase,
  type TaskRestore,
} from '../checkpoint/control-messages.ts';
import { serializeError } from '../checkpoint/serialized-error.ts';
import { channelStateKey } from '../checkpoint/state-handles.ts';
import type { CheckpointingMode, SubtaskId } from '../checkpoint/types.ts';
import { CheckpointError } from '../errors.ts';
import { subtaskName, type JobVertex } from '../graph/job-graph.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import type { Channel } from './channel.ts';
import { CheckpointedInputGate, EVENT } from './checkpointed-input-gate.ts';
import { decodeBatch } from './in-flight-data.ts';
import { OperatorChain, type ChainSetup } from './operator-chain.ts';
import { MAX_WATERMARK } from '../operators/event-time.ts';
import { OutputWriter, type EdgeWriter } from './output-writer.ts';
import { SubtaskCheckpointer } from './subtask-checkpointer.ts';
import { phaseOf, taskMachine, type TaskMachine } from './task-machine.ts';

export interface TaskSpec {
  jobId: string;
  vertex: JobVertex;
  subtaskIndex: number;
  attempt: number;
  maxParallelism: number;
  mode: CheckpointingMode;
  checkpointingEnabled: boolean;
  batchSize: number;
  inputs: Channel[];
  outputs: EdgeWriter[];
  backend: StateBackend;
  /** where each operator subtask's snapshots go */
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  /** `pipeline.auto-watermark-interval` in ms (200 when omitted, as Flink) */
  autoWatermarkInterval?: number;
}

/** What every task of one attempt shares, wherever it runs (this process or a TaskManager). */
export type AttemptTaskSettings = Pick<
  TaskSpec,
  'jobId' | 'attempt' | 'mode' | 'checkpointingEnabled' | 'batchSize' | 'autoWatermarkInterval' | 'backend' | 'storage'
>;

/** One subtask's spec: the attempt's settings, its vertex and index, and the channels wired to it. */
export function taskSpecOf(
  settings: AttemptTaskSettings,
  maxParallelism: number,
  vertex: JobVertex,
  subtaskIndex: number,
  inputs: Channel[],
  outputs: EdgeWriter[],
): TaskSpec {
  const { jobId, attempt, mode, checkpointingEnabled, batchSize, autoWatermarkInterval, backend, storage } = settings;
  return {
    jobId,
    vertex,
    subtaskIndex,
    attempt,
    maxParallelism,
    mode,
    checkpointingEnabled,
    batchSize,
    inputs,
    outputs,
    backend,
    storage,
    ...(autoWatermarkInterval !== undefined ? { autoWatermarkInterval } : {}),
  };
}

/** Where a task lives: the run loop that steps it and the actor system it joins (under the job master). */
export interface TaskRuntime {
  /** the task has work it can do now */
  wake(task: Task): void;
  /** the job master's actor: tasks join its system, where the coordinator and the job master find them by systemId */
  jobMaster: AnyActorRef;
}

const METRICS_INTERVAL_MS = 1000;

/**
 * Busy / backpressured / idle time accounting in the run loop (Flink's busyTimeMsPerSecond, ...):
 * on by default; the throughput bench turns it off to measure what it costs.
 */
export const taskTimeMetrics = { enabled: true };
/** how long one source poll should take at most */
const POLL_BUDGET_MS = 1;

export class Task {
  readonly id: SubtaskId;
  readonly name: string;
  readonly actor: Actor<TaskMachine>;
  readonly gate: CheckpointedInputGate;
  readonly output: OutputWriter;
  readonly chain: OperatorChain;
  readonly checkpointer: SubtaskCheckpointer;
  /** an async step (endBatch write, end of input) is under way: do not run */
  #busy = false;
  /** a watermark went into the chain in this step: its timers may still be firing (level), waited for before anything else */
  #watermarked = false;
  /** the input ended while the task waited for a watermark's timers: end of input goes on once they are done */
  #endAfterWatermark = false;
  #sourceEnded = false;
  /** stop --drain asked this source to end its input at its next step */
  #drainRequested = false;
  /** the operators' endInput ran (in this attempt, or before the checkpoint it was restored from) */
  #inputFinished = false;
  /** restored from a checkpoint taken after this subtask's endInput: not run again */
  #finishedOnRestore = false;
  #recordsIn = 0;
  #lastSample = performance.now();
  #backpressured = false;
  /** ms spent in steps, and waiting for output credit, since the last sample */
  #busyMs = 0;
  #backPressuredMs = 0;
  /** when the task found no output credit, -1 while it has some */
  #backPressuredSince = -1;
  /** the completion notifications under way: closing waits for them all (sinks commit before they close) */
  #notified: Promise<void> = Promise.resolve();
  readonly #setup: ChainSetup;
  readonly #wake: () => void;
  /** records per source poll: adapted so one poll takes about POLL_BUDGET_MS, whatever the chain costs per record */
  #pollSize: number;
  readonly #maxPollSize: number;

  constructor(
    readonly spec: TaskSpec,
    runtime: TaskRuntime,
  ) {
    const { vertex, subtaskIndex } = spec;
    this.id = { vertexId: vertex.id, subtaskIndex };
    this.name = subtaskName(vertex, subtaskIndex);
    this.#maxPollSize = Math.max(1, Math.ceil(spec.batchSize / 4));
    this.#pollSize = this.#maxPollSize;
    this.output = new OutputWriter(spec.outputs);
    this.#setup = {
      runtime: {
        jobId: spec.jobId,
        taskName: this.name,
        subtaskIndex,
        parallelism: vertex.parallelism,
        maxParallelism: spec.maxParallelism,
        attemptNumber: spec.attempt,
      },
      backend: spec.backend,
      storage: spec.storage,
      checkpointingEnabled: spec.checkpointingEnabled,
      restore: null,
      autoWatermarkInterval: spec.autoWatermarkInterval ?? 200,
    };
    this.chain = new OperatorChain(vertex.chain, this.#setup, vertex.chainTags);
    this.output.timestamp = this.chain.timestamp;
    this.checkpointer = new SubtaskCheckpointer({
      subtask: this.id,
      attempt: spec.attempt,
      taskName: this.name,
      headUid: vertex.chain[0]!.uid!,
      parallelism: vertex.parallelism,
      chain: this.chain,
      output: this.output,
      gate: () => this.gate,
      send: (message) => this.#send(message),
      signal: (event) => this.actor.send(event),
      isActive: () => this.phase !== 'failed' && this.phase !== 'canceled',
      inputFinished: () => this.#inputFinished,
    });
    const wake = (this.#wake = () => runtime.wake(this));
    this.gate = new CheckpointedInputGate(spec.inputs, spec.mode, this.checkpointer, {
      wake,
      // the valve's watermark goes through the chain: each operator fires its due timers before passing it on
      watermarks: {
        watermark: (ts) => {
          this.chain.processWatermark(ts);
          this.checkpointer.dirty = true;
          this.#watermarked = true;
        },
        status: (status) => this.chain.head.emitWatermarkStatus?.(status),
      },
    });
    for (const edge of spec.outputs) for (const ch of edge.channels) ch.onCredit = wake;
    this.actor = createActor(this.#machine(wake), {
      // the inspector shows the actor's id: the task's name, with Flink's `#attempt` after a restart so the
      // old and the new actors of one subtask stay apart
      id: spec.attempt === 0 ? this.name : `${this.name}#${spec.attempt}`,
      systemId: taskSystemId(this.id, spec.attempt),
      parent: runtime.jobMaster,
      input: {
        taskName: vertex.name,
        vertexId: vertex.id,
        subtaskIndex,
        parallelism: vertex.parallelism,
        attempt: spec.attempt,
        isSource: this.chain.source !== null,
        checkpointingEnabled: spec.checkpointingEnabled,
      },
    });
  }

  /** The machine with this task's runtime behind its actions; every action catches what it throws (a FAIL event instead). */
  #machine(wake: () => void): TaskMachine {
    return taskMachine.provide({
      actions: {
        deploy: (_, message) => this.#deploy(message),
        wake,
        snapshotAtSource: (_, { checkpointId, timestamp, options }) =>
          this.#guarded(() => this.checkpointer.triggerAtSource({ type: 'barrier', checkpointId, timestamp, options })),
        snapshotBeforeEndOfPartition: (_, { checkpointId, timestamp, options }) =>
          this.#guarded(() => this.checkpointer.triggerAtSource({ type: 'barrier', checkpointId, timestamp, options })),
        // a source's task only: its state is small, and it may finish long before the job does (a subtask given no
        // split); a task behind it finishes only once every source feeding it ended, as the job ends, and would
        // serialise all its keyed state at the end of every job without checkpointing
        snapshotFinal: () => {
          if (this.chain.source) this.checkpointer.snapshotFinal();
        },
        snapshotFinishing: (_, { checkpointId, timestamp, options }) =>
          this.#guarded(() => this.checkpointer.snapshotFinishing({ type: 'barrier', checkpointId, timestamp, options })),
        declineNotReady: (_, { checkpointId }) => this.checkpointer.declineNotReady(checkpointId, this.phase),
        drain: () => this.#requestDrain(),
        notifyComplete: (_, { checkpointId }) => {
          // every one, not just the last: the final checkpoint's may have nothing to commit and return
          // at once while an earlier one's commit still runs (closing would end its connection under it)
          const notified = this.#async(this.checkpointer.notifyComplete(checkpointId));
          this.#notified = Promise.all([this.#notified, notified]).then(() => undefined);
        },
        notifyAborted: (_, { checkpointId }) => void this.#async(this.checkpointer.notifyAborted(checkpointId)),
        endInput: () => this.#endInput(),
        close: () => this.#close(),
        closeAfterFailure: () => void this.chain.close(),
        cancel: () => void this.chain.close().then(() => this.actor.send({ type: 'CANCELED' })),
      },
    });
  }

  /** the phase the task's machine is in */
  get phase(): TaskPhase {
    return phaseOf(this.actor.getSnapshot().value);
  }

  /** event time: the task's input watermark (min over its channels; null for a source) and the last watermark it sent */
  get watermarks(): { input: number | null; output: number } {
    return { input: this.chain.source ? null : this.gate.valve.currentWatermark, output: this.output.currentWatermark };
  }

  get isSource(): boolean {
    return this.chain.source !== null;
  }

  /** running.* (read per step: the machine's state value, no copy of it) */
  #isRunning(): boolean {
    const value = this.actor.getSnapshot().value;
    return typeof value === 'object' && 'running' in value;
  }

  /** Sends a control message to the job master and/or the coordinator, through the actor system. */
  #send(message: FromTaskMessage): void {
    const { system } = this.actor;
    for (const id of recipientsOf(message)) (system.get(id) as AnyActorRef | undefined)?.send(message as EventObject);
  }

  #fail(error: unknown): void {
    this.actor.send({ type: 'FAIL', error: serializeError(error) });
  }

  #guarded(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** An operator's asynchronous work: a rejection fails the task. */
  #async(work: Promise<void>): Promise<void> {
    return work.catch((error: unknown) => this.#fail(error));
  }

  // ---- deploy ----

  #deploy({ restore }: DeployTask): void {
    this.#finishedOnRestore = this.#restoredFinished(restore);
    try {
      // before the first await: every task replays its channel state before any producer sends new data
      this.#replayChannelState(restore);
    } catch (error) {
      return this.#fail(error);
    }
    this.chain.restoreAndOpen({ ...this.#setup, restore }, this.output, this.#wake).then(
      () => this.actor.send({ type: 'RESTORED' }),
      (error: unknown) => this.#fail(error),
    );
  }

  /** Every operator of the chain finished (endInput ran) in the restored checkpoint, at this parallelism. */
  #restoredFinished(restore: TaskRestore | null): boolean {
    if (!restore) return false;
    const { vertex, subtaskIndex } = this.spec;
    return vertex.chain.every((t) => {
      const s = restore.operators[t.uid!];
      return s !== undefined && s.parallelism === vertex.parallelism && s.subtasks[subtaskIndex]?.finished === true;
    });
  }

  /** Puts the in-flight data of the restored checkpoint in front of each input channel. */
  #replayChannelState(restore: TaskRestore | null): void {
    const all = restore?.channelState;
    if (!all) return;
    const { vertex, subtaskIndex, inputs } = this.spec;
    const uid = vertex.chain[0]!.uid!;
    for (const cs of Object.values(all)) {
      if (cs.operatorUid !== uid) continue;
      if (cs.parallelism !== vertex.parallelism || cs.inputChannels !== inputs.length) {
        throw new CheckpointError(
          'FLOE_CHANNEL_STATE_RESCALE',
          `checkpoint ${restore!.checkpointId} holds in-flight data of '${uid}' at parallelism ${cs.parallelism} with ${cs.inputChannels} input channels; the job now has ${vertex.parallelism} with ${inputs.length}`,
          { hint: 'change parallelism from a savepoint (always aligned) or from an aligned checkpoint, not from an unaligned one' },
        );
      }
    }
    const own = all[channelStateKey(uid, subtaskIndex)];
    if (!own) return;
    own.inputs.forEach((buffers, i) => inputs[i]!.prepend(buffers.map((b) => ({ type: 'data', batch: decodeBatch(b) }))));
  }

  // ---- the run loop's step ----

  /** Runs one unit of work (one input message or one source batch); returns whether more can run now. */
  step(): boolean {
    if (this.#busy || !this.#isRunning()) return false;
    // one clock read per step (the sample reads the other): a step is a whole batch, so this stays cheap
    const t0 = taskTimeMetrics.enabled ? performance.now() : 0;
    if (this.#backPressuredSince >= 0) {
      this.#backPressuredMs += t0 - this.#backPressuredSince;
      this.#backPressuredSince = -1;
    }
    try {
      // overtaking barriers do not wait for credit: that is what makes them fast under backpressure
      if (this.gate.hasPriorityEvents) this.gate.processPriorityEvents();
      if (!this.#isRunning()) return false;
      // processing-time timers fire on the run loop, between batches
      if (this.chain.hasProcessingTime) this.chain.onProcessingTime(Date.now());
      if (!this.output.hasCredit()) {
        this.#backpressured = true;
        // waiting for credit from here until the step after the next wake (a credit arriving wakes the task)
        if (taskTimeMetrics.enabled) this.#backPressuredSince = t0;
        return false;
      }
      const more = this.chain.source ? this.#stepSource() : this.#stepInput();
      const now = performance.now();
      if (taskTimeMetrics.enabled) {
        this.#busyMs += now - t0;
        // the step used up the output's credit: backpressured until a credit wakes the task
        if (!more && !this.output.hasCredit()) this.#backPressuredSince = now;
      }
      this.#sample(now);
      return more;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  #stepSource(): boolean {
    if (this.#drainRequested) {
      // drained: end of input goes downstream now, ahead of the final savepoint (Flink's stop --drain order)
      this.#drainRequested = false;
      this.#endSource();
      this.actor.send({ type: 'INPUT_ENDED' });
      return false;
    }
    if (this.#sourceEnded) return false;
    // at most a quarter buffer per poll, and less when the chain is slow: a barrier (and every other task of
    // the run loop) waits at most about one poll budget for this source
    const t0 = performance.now();
    const result = this.chain.source!.reader.poll(this.chain.head, this.#pollSize);
    const took = performance.now() - t0;
    if (took > POLL_BUDGET_MS) this.#pollSize = Math.max(1, this.#pollSize >> 1);
    else if (took < POLL_BUDGET_MS / 4 && this.#pollSize < this.#maxPollSize)
      this.#pollSize = Math.min(this.#maxPollSize, this.#pollSize * 2);
    this.checkpointer.dirty = true;
    if (result === 'end') {
      this.#endSource();
      // end of input goes downstream now, ahead of the final checkpoint (Flink's EndOfData before it): each task calls
      // endInput, flushes and passes end of partition on, then snapshots its final state when the checkpoint reaches
      // it directly, so what endInput emitted is in every final snapshot and no task is left dirty after its own
      this.actor.send({ type: 'INPUT_ENDED' });
      // with checkpoints, the coordinator starts the final checkpoint once every source ended; told after the machine
      // is finishing, so the trigger (delivered at once in one process) waits until endInput is done
      if (this.spec.checkpointingEnabled) this.#send({ type: 'END_OF_INPUT', attempt: this.spec.attempt, subtask: this.id });
      return false;
    }
    if (!this.#awaitBatch()) return false;
    if (result === 'idle') {
      this.output.flush();
      setTimeout(this.#wake, 1);
      return false;
    }
    return this.output.hasCredit();
  }

  /**
   * The source's input is exhausted (or drained): it sends the maximum watermark, so every event-time
   * window and timer downstream fires (Flink), then flushes; its operators' endInput and end of
   * partition follow, all before its final snapshot: the final checkpoint then holds what they fired,
   * and a task downstream is clean when its input ends (a record or watermark after a task's final
   * snapshot would leave the tasks behind it waiting for a checkpoint that never comes).
   */
  #endSource(): void {
    this.#sourceEnded = true;
    this.chain.processWatermark(MAX_WATERMARK);
    this.output.flush();
  }

  #stepInput(): boolean {
    if (this.#endAfterWatermark) {
      this.#endAfterWatermark = false;
      if (this.gate.ended) {
        this.actor.send({ type: 'INPUT_ENDED' });
        return false;
      }
    }
    const next = this.gate.pollNext();
    if (next === null) {
      this.output.flush();
      return false;
    }
    if (next !== EVENT) {
      const batch = next.message.batch;
      const head = this.chain.head;
      const timestamp = this.chain.timestamp;
      // event timestamps travel beside the records (NaN: none); set per record, as an operator may change it for what it emits
      const stamps = batch.timestamps;
      if (stamps === undefined) {
        for (let i = 0; i < batch.length; i++) {
          timestamp.value = NaN;
          head.collect(batch[i]);
        }
      } else {
        for (let i = 0; i < batch.length; i++) {
          timestamp.value = stamps[i]!;
          head.collect(batch[i]);
        }
      }
      this.#recordsIn += batch.length;
      this.checkpointer.dirty = true;
      if (!this.#awaitBatch()) return false;
    } else {
      // an operator fully handles a watermark (fires its due timers, their output) before anything else reaches it
      if (this.#watermarked) {
        this.#watermarked = false;
        if (!this.#awaitBatch()) {
          this.#endAfterWatermark = true;
          return false;
        }
      }
      if (this.gate.ended) {
        this.actor.send({ type: 'INPUT_ENDED' });
        return false;
      }
    }
    if (!this.gate.hasInput()) {
      this.output.flush();
      return false;
    }
    return this.#isRunning() && this.output.hasCredit();
  }

  /** Lets the backend write the batch; false if that is asynchronous and the task must wait. */
  #awaitBatch(): boolean {
    const pending = this.chain.endBatch();
    if (!pending) return true;
    this.#busy = true;
    pending.then(
      () => {
        this.#busy = false;
        this.#wake();
      },
      (error: unknown) => this.#fail(error),
    );
    return false;
  }

  /** waiting for output credit now (a sample goes out only from a step: a blocked task reports none) */
  get backPressured(): boolean {
    return this.#backPressuredSince >= 0;
  }

  #metrics(now: number): TaskMetricsSample {
    // the window since the last sample, as ms per second; idle is the rest (waiting for input, timers, I/O)
    const window = Math.max(1, now - this.#lastSample);
    const busy = Math.min(1000, Math.round((this.#busyMs / window) * 1000));
    const backPressured = Math.min(1000 - busy, Math.round((this.#backPressuredMs / window) * 1000));
    this.#busyMs = 0;
    this.#backPressuredMs = 0;
    return {
      recordsIn: this.#recordsIn,
      recordsOut: this.output.recordsOut,
      backpressured: this.#backpressured,
      busyTimeMsPerSecond: busy,
      backPressuredTimeMsPerSecond: backPressured,
      idleTimeMsPerSecond: 1000 - busy - backPressured,
      sampledAt: Date.now(),
      currentInputWatermark: this.chain.source ? null : this.gate.valve.currentWatermark,
      currentOutputWatermark: this.output.currentWatermark,
      numLateRecordsDropped: this.chain.lateRecordsDropped,
    };
  }

  #sample(now: number): void {
    if (now - this.#lastSample < METRICS_INTERVAL_MS) return;
    const sample = this.#metrics(now);
    this.#lastSample = now;
    this.actor.send({ type: 'METRICS', sample });
    this.#backpressured = false;
  }

  // ---- end of input, finishing ----

  /**
   * stop --drain: a running source treats its input as exhausted at its next step and ends it at
   * once (flush, end of partition), without waiting for a checkpoint barrier, so every operator
   * downstream flushes too; the final savepoint is then taken at the finishing tasks. Other tasks
   * ignore it (their input ends when their upstream's does).
   */
  #requestDrain(): void {
    if (!this.chain.source) return;
    this.#drainRequested = true;
    this.#wake();
  }

  /** Every input ended (or the source is exhausted): flush, pass end-of-partition on, then the machine waits for the final checkpoint. */
  #endInput(): void {
    this.#busy = true;
    Promise.resolve()
      // restored from a checkpoint taken after endInput: its output is in that checkpoint already (Flink skips finished operators)
      .then(() => (this.#finishedOnRestore ? undefined : this.chain.endInput()))
      .then(() => {
        if (this.phase !== 'finishing') return;
        this.#busy = false;
        this.#inputFinished = true;
        // what endInput emitted (a chained sink wrote it, or it went downstream) needs a snapshot after it
        if (this.chain.members.some((m) => m.operator.endInput)) this.checkpointer.dirty = true;
        if (this.spec.checkpointingEnabled) {
          this.output.broadcastEvent({ type: 'end-of-partition' });
          this.actor.send({ type: 'INPUT_FLUSHED', dirty: this.checkpointer.dirty });
          return;
        }
        // without checkpointing a savepoint that came meanwhile is snapshotted on INPUT_FLUSHED: its barrier goes
        // downstream before end of partition, so the tasks there take part in it as they would while running
        this.actor.send({ type: 'INPUT_FLUSHED', dirty: this.checkpointer.dirty });
        this.output.broadcastEvent({ type: 'end-of-partition' });
      })
      .catch((error: unknown) => this.#fail(error));
  }

  /** The final checkpoint completed (or there are no checkpoints): close the operators once its notification and every snapshot are done. */
  #close(): void {
    (async () => {
      await this.#notified;
      if (this.phase !== 'finishing') return; // the notification failed the task
      await this.checkpointer.settled();
      const errors = await this.chain.close();
      if (errors.length > 0) this.#fail(errors[0]);
      else this.actor.send({ type: 'CLOSED' });
    })().catch((error: unknown) => this.#fail(error));
  }
}
