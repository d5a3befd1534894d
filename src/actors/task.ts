// A task: one subtask of a job vertex — its actor, input gate, barrier handler, operator chain and output.
import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { StateBackend } from '../backends/types.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import type { OperatorState } from '../coordinator/types.ts';
import { CheckpointError } from '../errors.ts';
import type { JobVertex } from '../graph/job-graph.ts';
import { BarrierHandler, type AbortReason, type Barrier, type BarrierHandlerHost } from './barrier-handler.ts';
import type { Channel } from './channel.ts';
import { InputGate } from './input-gate.ts';
import { OperatorChain, type ChainSetup } from './operator-chain.ts';
import { OutputWriter, type EdgeWriter } from './output-writer.ts';
import { taskMachine, type TaskMachine } from './task-machine.ts';
import type { AcknowledgeCheckpoint, CheckpointOptions, CheckpointingMode, DeclineCheckpoint, SubtaskId } from './types.ts';

/** What a task reports to, and asks of, its job. */
export interface TaskHost {
  /** the task has work it can do now */
  wake(task: Task): void;
  running(task: Task): void;
  /** all input consumed: the task waits for a checkpoint to complete before finishing */
  endOfInput(task: Task): void;
  finished(task: Task): void;
  failed(task: Task, error: unknown): void;
  acknowledge(ack: AcknowledgeCheckpoint): void;
  decline(decline: DeclineCheckpoint): void;
}

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
  storage: CheckpointStorage;
  restore: { checkpointId: number; operators: Record<string, OperatorState> } | null;
  inspect?: (event: InspectionEvent) => void;
}

type Phase = 'created' | 'deploying' | 'running' | 'finishing' | 'finished' | 'failed' | 'canceled';

const METRICS_INTERVAL_MS = 1000;

export class Task implements BarrierHandlerHost {
  readonly id: SubtaskId;
  readonly name: string;
  readonly actor: Actor<TaskMachine>;
  readonly gate: InputGate;
  readonly output: OutputWriter;
  readonly barriers: BarrierHandler;
  readonly chain: OperatorChain;
  #phase: Phase = 'created';
  /** an async step (endBatch write, end of input) is under way: do not run */
  #busy = false;
  #sourceEnded = false;
  /** stop --drain asked this source to end its input at its next step */
  #drainRequested = false;
  /** data was processed since the last snapshot: the final checkpoint must come later */
  #dirty = false;
  /** the task finishes when a checkpoint >= this completes */
  #finalCheckpointId = Number.POSITIVE_INFINITY;
  #firstBarrierAt = 0;
  #lastSnapshotId = 0;
  #deferredTrigger: { checkpointId: number; timestamp: number; options: CheckpointOptions } | null = null;
  #startDelayMs = 0;
  #recordsIn = 0;
  #lastSample = 0;
  #backpressured = false;
  readonly #setup: ChainSetup;
  readonly #pollSize: number;

  constructor(readonly spec: TaskSpec, readonly host: TaskHost) {
    const { vertex, subtaskIndex } = spec;
    this.id = { vertexId: vertex.id, subtaskIndex };
    this.name = `${vertex.name} (${subtaskIndex + 1}/${vertex.parallelism})`;
    this.gate = new InputGate(spec.inputs);
    this.#pollSize = Math.max(1, Math.ceil(spec.batchSize / 4));
    this.output = new OutputWriter(spec.outputs);
    this.barriers = new BarrierHandler(spec.inputs.length, spec.mode, this);
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
      restore: spec.restore,
    };
    this.chain = new OperatorChain(vertex.chain, this.#setup);
    this.actor = createActor(taskMachine, {
      id: `${vertex.id}-${subtaskIndex}-a${spec.attempt}`,
      input: { taskName: vertex.name, vertexId: vertex.id, subtaskIndex, parallelism: vertex.parallelism, attempt: spec.attempt },
      inspect: spec.inspect,
    });
    for (const ch of spec.inputs) ch.onMessage = () => this.host.wake(this);
    for (const edge of spec.outputs) for (const ch of edge.channels) ch.onCredit = () => this.host.wake(this);
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** the source is exhausted, or every input partition ended */
  get inputEnded(): boolean {
    return this.#sourceEnded || this.#phase === 'finishing' || this.#phase === 'finished';
  }

  get isSource(): boolean {
    return this.chain.source !== null;
  }

  /** Deploys: restores state, opens operators, starts running. */
  async deploy(): Promise<void> {
    this.actor.start();
    this.#phase = 'deploying';
    this.actor.send({ type: 'DEPLOY' });
    try {
      this.actor.send({ type: 'RESTORE', checkpointId: this.spec.restore?.checkpointId ?? null });
      await this.chain.restoreAndOpen(this.#setup, this.output);
      if (this.#phase !== 'deploying') return; // canceled meanwhile
      this.actor.send({ type: 'RESTORED' });
      this.#phase = 'running';
      this.host.running(this);
      this.host.wake(this);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Runs one unit of work (one input message or one source batch); returns whether more can run now. */
  step(): boolean {
    if (this.#busy || this.#phase !== 'running') return false;
    try {
      if (!this.output.hasCredit()) {
        this.#backpressured = true;
        return false;
      }
      const more = this.chain.source ? this.#stepSource() : this.#stepInput();
      this.#sample();
      return more;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  #stepSource(): boolean {
    if (this.#drainRequested) {
      // drained: end of input goes downstream now, ahead of the final savepoint (Flink's stop --drain order)
      this.#drainRequested = false;
      this.#sourceEnded = true;
      this.output.flush();
      this.#endOfInput();
      return false;
    }
    if (this.#sourceEnded) return false;
    // a quarter buffer per poll: a barrier waits at most one poll, whatever the chain does per record
    const result = this.chain.source!.reader.poll(this.chain.head, this.#pollSize);
    this.#dirty = true;
    if (result === 'end') {
      this.#sourceEnded = true;
      this.output.flush();
      if (this.spec.checkpointingEnabled) this.host.endOfInput(this); // the final checkpoint's barrier goes out first
      else this.#endOfInput();
      return false;
    }
    if (!this.#awaitBatch()) return false;
    return this.output.hasCredit();
  }

  #stepInput(): boolean {
    const next = this.gate.pollNext();
    if (!next) {
      this.output.flush();
      return false;
    }
    const { channel, message } = next;
    switch (message.type) {
      case 'data': {
        const batch = message.batch;
        const head = this.chain.head;
        for (let i = 0; i < batch.length; i++) head.collect(batch[i]);
        this.#recordsIn += batch.length;
        this.#dirty = true;
        if (!this.#awaitBatch()) return false;
        break;
      }
      case 'barrier':
        this.barriers.processBarrier(channel, message);
        break;
      case 'cancel-barrier':
        this.barriers.processCancelBarrier(channel, message.checkpointId);
        break;
      case 'end-of-partition':
        this.barriers.processEndOfPartition(channel);
        if (this.barriers.allEnded) {
          this.#endOfInput();
          return false;
        }
    }
    if (!this.gate.hasInput()) {
      this.output.flush();
      return false;
    }
    return this.#phase === 'running' && this.output.hasCredit();
  }

  /** Lets the backend write the batch; false if that is asynchronous and the task must wait. */
  #awaitBatch(): boolean {
    const pending = this.chain.endBatch();
    if (!pending) return true;
    this.#busy = true;
    pending.then(
      () => {
        this.#busy = false;
        this.host.wake(this);
      },
      (error) => this.fail(error),
    );
    return false;
  }

  #sample(): void {
    const now = performance.now();
    if (now - this.#lastSample < METRICS_INTERVAL_MS) return;
    this.#lastSample = now;
    this.actor.send({ type: 'METRICS', sample: { recordsIn: this.#recordsIn, recordsOut: this.output.recordsOut, backpressured: this.#backpressured } });
    this.#backpressured = false;
  }

  /** Every input ended (or the source is exhausted): flush, pass end-of-partition on, wait for the final checkpoint. */
  #endOfInput(): void {
    this.#busy = true;
    this.actor.send({ type: 'END_OF_INPUT' });
    this.#phase = 'finishing';
    Promise.resolve()
      .then(() => this.chain.endInput())
      .then(() => {
        if (this.#phase !== 'finishing') return;
        this.output.broadcastEvent({ type: 'end-of-partition' });
        this.#busy = false;
        if (!this.spec.checkpointingEnabled) return this.#finish();
        if (!this.#dirty) this.#finalCheckpointId = this.#lastSnapshotId;
        const deferred = this.#deferredTrigger;
        this.#deferredTrigger = null;
        if (deferred) this.triggerCheckpoint(deferred.checkpointId, deferred.timestamp, deferred.options);
        this.host.endOfInput(this);
      })
      .catch((error) => this.fail(error));
  }

  /**
   * stop --drain: a running source treats its input as exhausted at its next step and ends it at
   * once (flush, end of partition), without waiting for a checkpoint barrier, so every operator
   * downstream flushes too; the final savepoint is then taken at the finishing tasks. Other tasks
   * ignore it (their input ends when their upstream's does).
   */
  drain(): void {
    if (!this.chain.source || this.#phase !== 'running') return;
    this.#drainRequested = true;
    this.host.wake(this);
  }

  // ---- checkpoints ----

  /** TriggerCheckpoint from the coordinator: sources start a checkpoint; tasks whose input ended snapshot directly. */
  triggerCheckpoint(checkpointId: number, timestamp: number, options: CheckpointOptions): void {
    if (this.#phase === 'finishing' && this.#busy) {
      // still flushing end of input: take this checkpoint right after
      this.#deferredTrigger = { checkpointId, timestamp, options };
      return;
    }
    if (this.#phase === 'finishing') {
      if (checkpointId <= this.#lastSnapshotId) return;
      this.actor.send({ type: 'SNAPSHOT', checkpointId });
      this.#performCheckpoint({ type: 'barrier', checkpointId, timestamp, options }, 0, false);
      return;
    }
    if (this.#phase !== 'running' || !this.chain.source) {
      this.host.decline({
        checkpointId,
        subtask: this.id,
        reason: new CheckpointError('FLOE_TASK_NOT_READY', `task ${this.name} is ${this.#phase}, not running`),
      });
      return;
    }
    this.#startDelayMs = Math.max(0, Date.now() - timestamp);
    this.actor.send({ type: 'SNAPSHOT', checkpointId });
    const barrier: Barrier = { type: 'barrier', checkpointId, timestamp, options };
    this.#performCheckpoint(barrier, 0, true);
    if (this.#sourceEnded && this.#phase === 'running') {
      // the final checkpoint of this source: its barrier, then end of partition
      this.#dirty = false;
      this.#endOfInput();
    }
  }

  blockChannel(channel: number): void {
    this.gate.block(channel);
  }

  unblockAll(): void {
    this.gate.unblockAll();
  }

  alignmentStarted(barrier: Barrier): void {
    this.#firstBarrierAt = Date.now();
    this.#startDelayMs = Math.max(0, this.#firstBarrierAt - barrier.timestamp);
    this.actor.send({ type: 'ALIGNMENT_STARTED', checkpointId: barrier.checkpointId });
  }

  alignmentCompleted(barrier: Barrier, alignmentDurationMs: number): void {
    this.actor.send({ type: 'ALIGNED', checkpointId: barrier.checkpointId });
    this.#performCheckpoint(barrier, alignmentDurationMs, true);
  }

  alignmentAborted(checkpointId: number, reason: AbortReason): void {
    this.actor.send({ type: 'ALIGNMENT_ABORTED', checkpointId, reason });
    this.output.broadcastEvent({ type: 'cancel-barrier', checkpointId });
    const code = reason === 'subsumed' ? 'FLOE_CHECKPOINT_SUBSUMED' : 'FLOE_CHECKPOINT_CANCELED_UPSTREAM';
    this.host.decline({ checkpointId, subtask: this.id, reason: new CheckpointError(code, `checkpoint ${checkpointId} ${reason} at ${this.name}`) });
  }

  #performCheckpoint(barrier: Barrier, alignmentDurationMs: number, forward: boolean): void {
    const { checkpointId } = barrier;
    const buffered = this.gate.bufferedInBlocked();
    const t0 = performance.now();
    const snapshot = this.chain.snapshot(checkpointId); // throws: a sync-phase failure fails the task (as Flink)
    const syncDurationMs = performance.now() - t0;
    this.#lastSnapshotId = checkpointId;
    if (this.#phase === 'finishing') this.#finalCheckpointId = Math.min(this.#finalCheckpointId, checkpointId);
    this.#dirty = false;
    if (forward) this.output.broadcastEvent(barrier);
    if (this.#phase === 'running') this.actor.send({ type: 'SNAPSHOT_TAKEN', checkpointId });
    const startDelayMs = this.#startDelayMs;
    const t1 = performance.now();
    OperatorChain.complete(snapshot).then(
      ({ state, size }) => {
        if (this.#phase === 'failed' || this.#phase === 'canceled') return;
        this.host.acknowledge({
          checkpointId,
          subtask: this.id,
          state,
          metrics: {
            alignmentDurationMs,
            startDelayMs,
            syncDurationMs,
            asyncDurationMs: performance.now() - t1,
            stateSize: size,
            bufferedDuringAlignment: buffered,
          },
        });
      },
      (error) => {
        if (this.#phase === 'failed' || this.#phase === 'canceled') return;
        this.host.decline({ checkpointId, subtask: this.id, reason: error instanceof Error ? error : new Error(String(error)) });
      },
    );
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    if (this.#phase !== 'running' && this.#phase !== 'finishing') return;
    try {
      await this.chain.notifyCheckpointComplete(checkpointId);
      if (this.#phase === 'finishing' && checkpointId >= this.#finalCheckpointId) await this.#finish();
    } catch (error) {
      this.fail(error);
    }
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    if (this.#phase !== 'running' && this.#phase !== 'finishing') return;
    try {
      await this.chain.notifyCheckpointAborted(checkpointId);
    } catch (error) {
      this.fail(error);
    }
  }

  async #finish(): Promise<void> {
    if (this.#phase !== 'finishing') return;
    this.#phase = 'finished';
    const errors = await this.chain.close();
    if (errors.length > 0) {
      this.#phase = 'finishing';
      return this.fail(errors[0]);
    }
    this.actor.send({ type: 'FINISHED' });
    this.host.finished(this);
  }

  // ---- failure and cancellation ----

  fail(error: unknown): void {
    if (this.#phase === 'failed' || this.#phase === 'canceled' || this.#phase === 'finished') return;
    this.#phase = 'failed';
    this.actor.send({ type: 'FAIL', error: error instanceof Error ? error.message : String(error) });
    // close in the background; the job master cancels the other tasks and restarts
    void this.chain.close();
    this.host.failed(this, error);
  }

  async cancel(): Promise<void> {
    if (this.#phase === 'failed' || this.#phase === 'canceled' || this.#phase === 'finished') {
      this.actor.stop();
      return;
    }
    this.#phase = 'canceled';
    this.actor.send({ type: 'CANCEL' });
    await this.chain.close();
    this.actor.send({ type: 'CANCELED' });
    this.actor.stop();
  }
}
