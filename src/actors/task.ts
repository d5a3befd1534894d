// A task: one subtask of a job vertex — its actor, input gate, barrier handler, operator chain and output.
import { createActor, type Actor, type InspectionEvent } from 'xstate';
import type { StateBackend } from '../backends/types.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import { channelStateKey } from '../checkpoint/state-handles.ts';
import { type OperatorState } from '../checkpoint/completed-checkpoint.ts';
import { CheckpointError } from '../errors.ts';
import { codedCause, serializeError } from '../checkpoint/serialized-error.ts';
import type { JobVertex } from '../graph/job-graph.ts';
import { BarrierHandler, type AbortReason, type Barrier, type BarrierHandlerHost } from './barrier-handler.ts';
import { decodeBatch, estimateBytes, type InFlightData } from './in-flight-data.ts';
import type { Channel } from './channel.ts';
import { InputGate } from './input-gate.ts';
import { OperatorChain, type ChainSetup } from './operator-chain.ts';
import { OutputWriter, type EdgeWriter } from './output-writer.ts';
import { taskMachine, type TaskMachine } from './task-machine.ts';
import type { AcknowledgeCheckpoint, DeclineCheckpoint } from '../checkpoint/control-messages.ts';
import type { ChannelStateSnapshot, TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import type { CheckpointOptions, CheckpointingMode, SubtaskId } from '../checkpoint/types.ts';

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
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  restore: { checkpointId: number; operators: Record<string, OperatorState>; channelState?: Record<string, ChannelStateSnapshot> } | null;
  inspect?: (event: InspectionEvent) => void;
}

type Phase = 'created' | 'deploying' | 'running' | 'finishing' | 'finished' | 'failed' | 'canceled';

const METRICS_INTERVAL_MS = 1000;
/** how long one source poll should take at most */
const POLL_BUDGET_MS = 1;

/** The synchronous part of a snapshot, waiting for its asynchronous part (and, unaligned, its in-flight data). */
interface TakenSnapshot {
  checkpointId: number;
  completion: Promise<{ state: TaskStateSnapshot; size: number }>;
  alignmentDurationMs: number;
  startDelayMs: number;
  syncDurationMs: number;
  /** when the asynchronous part started */
  asyncStart: number;
  bufferedDuringAlignment: number;
  bytesHeldDuringAlignment: number;
}

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
  /** asynchronous snapshot parts under way */
  readonly #asyncParts = new Set<Promise<unknown>>();
  #lastSnapshotId = 0;
  #deferredTrigger: { checkpointId: number; timestamp: number; options: CheckpointOptions } | null = null;
  #startDelayMs = 0;
  #recordsIn = 0;
  #lastSample = 0;
  #backpressured = false;
  /** a barrier that may overtake was sent to one of the input channels */
  #priorityBarrier = false;
  /** the aligned-checkpoint timeout fired for this checkpoint id */
  #alignmentTimedOut: number | null = null;
  /** an unaligned snapshot waiting for its in-flight data */
  #unalignedSnapshot: TakenSnapshot | null = null;
  readonly #setup: ChainSetup;
  /** records per source poll: adapted so one poll takes about POLL_BUDGET_MS, whatever the chain costs per record */
  #pollSize: number;
  readonly #maxPollSize: number;

  constructor(readonly spec: TaskSpec, readonly host: TaskHost) {
    const { vertex, subtaskIndex } = spec;
    this.id = { vertexId: vertex.id, subtaskIndex };
    this.name = `${vertex.name} (${subtaskIndex + 1}/${vertex.parallelism})`;
    this.gate = new InputGate(spec.inputs);
    this.#maxPollSize = Math.max(1, Math.ceil(spec.batchSize / 4));
    this.#pollSize = this.#maxPollSize;
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
    for (const ch of spec.inputs) {
      ch.onMessage = () => this.host.wake(this);
      ch.onPriorityBarrier = () => (this.#priorityBarrier = true);
    }
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
      // before the first await: every task replays its channel state before any producer sends new data
      this.#restoreChannelState();
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

  /** Puts the in-flight data of the restored checkpoint in front of each input channel. */
  #restoreChannelState(): void {
    const all = this.spec.restore?.channelState;
    if (!all) return;
    const { vertex, subtaskIndex, inputs } = this.spec;
    const uid = vertex.chain[0]!.uid!;
    for (const cs of Object.values(all)) {
      if (cs.operatorUid !== uid) continue;
      if (cs.parallelism !== vertex.parallelism || cs.inputChannels !== inputs.length) {
        throw new CheckpointError(
          'FLOE_CHANNEL_STATE_RESCALE',
          `checkpoint ${this.spec.restore!.checkpointId} holds in-flight data of '${uid}' at parallelism ${cs.parallelism} with ${cs.inputChannels} input channels; the job now has ${vertex.parallelism} with ${inputs.length}`,
          { hint: 'change parallelism from a savepoint (always aligned) or from an aligned checkpoint, not from an unaligned one' },
        );
      }
    }
    const own = all[channelStateKey(uid, subtaskIndex)];
    if (!own) return;
    own.inputs.forEach((buffers, i) => inputs[i]!.prepend(buffers.map((b) => ({ type: 'data', batch: decodeBatch(b) }))));
  }

  /** Runs one unit of work (one input message or one source batch); returns whether more can run now. */
  step(): boolean {
    if (this.#busy || this.#phase !== 'running') return false;
    try {
      // overtaking barriers do not wait for credit: that is what makes them fast under backpressure
      if (this.#priorityBarrier || this.#alignmentTimedOut !== null) this.#processPriority();
      if (this.#phase !== 'running') return false;
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

  #processPriority(): void {
    this.#priorityBarrier = false;
    const timedOut = this.#alignmentTimedOut;
    this.#alignmentTimedOut = null;
    if (timedOut !== null) this.barriers.alignmentTimedOut(timedOut);
    const channels = this.gate.channels;
    for (let c = 0; c < channels.length; c++) {
      for (const barrier of channels[c]!.queuedBarriers()) this.barriers.processPriorityBarrier(c, barrier);
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
    // at most a quarter buffer per poll, and less when the chain is slow: a barrier (and every other task of
    // the run loop) waits at most about one poll budget for this source
    const t0 = performance.now();
    const result = this.chain.source!.reader.poll(this.chain.head, this.#pollSize);
    const took = performance.now() - t0;
    if (took > POLL_BUDGET_MS) this.#pollSize = Math.max(1, this.#pollSize >> 1);
    else if (took < POLL_BUDGET_MS / 4 && this.#pollSize < this.#maxPollSize) this.#pollSize = Math.min(this.#maxPollSize, this.#pollSize * 2);
    this.#dirty = true;
    if (result === 'end') {
      this.#sourceEnded = true;
      this.output.flush();
      if (this.spec.checkpointingEnabled) this.host.endOfInput(this); // the final checkpoint's barrier goes out first
      else this.#endOfInput();
      return false;
    }
    if (!this.#awaitBatch()) return false;
    if (result === 'idle') {
      this.output.flush();
      setTimeout(() => this.host.wake(this), 1);
      return false;
    }
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
        if (this.barriers.capturing) this.barriers.processData(channel, batch);
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
      this.#decline(checkpointId, new CheckpointError('FLOE_TASK_NOT_READY', `task ${this.name} is ${this.#phase}, not running`));
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

  snapshotUnaligned(barrier: Barrier, alignmentDurationMs: number): void {
    this.actor.send({ type: 'ALIGNED', checkpointId: barrier.checkpointId });
    this.#unalignedSnapshot = this.#takeSnapshot(barrier, alignmentDurationMs, true);
  }

  channelStateCompleted(barrier: Barrier, inFlight: InFlightData): void {
    const taken = this.#unalignedSnapshot;
    if (!taken || taken.checkpointId !== barrier.checkpointId) return;
    this.#unalignedSnapshot = null;
    const { vertex, subtaskIndex, inputs } = this.spec;
    const channelState: ChannelStateSnapshot = {
      operatorUid: vertex.chain[0]!.uid!,
      subtaskIndex,
      parallelism: vertex.parallelism,
      inputChannels: inputs.length,
      inputs: inFlight.buffers,
      bytes: inFlight.bytes,
    };
    this.#acknowledge(taken, channelState);
  }

  takeBarrier(channel: number, checkpointId: number): unknown[][] | null {
    return this.gate.channels[channel]!.takeBarrier(checkpointId);
  }

  startAlignmentTimer(checkpointId: number, ms: number): void {
    const timer = setTimeout(() => {
      if (this.#phase !== 'running' || this.barriers.pendingCheckpointId !== checkpointId) return;
      this.#alignmentTimedOut = checkpointId;
      this.host.wake(this);
    }, ms);
    timer.unref();
  }

  alignmentAborted(checkpointId: number, reason: AbortReason): void {
    if (this.#unalignedSnapshot?.checkpointId === checkpointId) this.#unalignedSnapshot = null;
    this.actor.send({ type: 'ALIGNMENT_ABORTED', checkpointId, reason });
    this.output.broadcastEvent({ type: 'cancel-barrier', checkpointId });
    const code = reason === 'subsumed' ? 'FLOE_CHECKPOINT_SUBSUMED' : 'FLOE_CHECKPOINT_CANCELED_UPSTREAM';
    this.#decline(checkpointId, new CheckpointError(code, `checkpoint ${checkpointId} ${reason} at ${this.name}`));
  }

  #performCheckpoint(barrier: Barrier, alignmentDurationMs: number, forward: boolean): void {
    this.#acknowledge(this.#takeSnapshot(barrier, alignmentDurationMs, forward));
  }

  /** The synchronous part: snapshot the chain, forward the barrier; the asynchronous part starts. */
  #takeSnapshot(barrier: Barrier, alignmentDurationMs: number, forward: boolean): TakenSnapshot {
    const { checkpointId } = barrier;
    const buffered = this.gate.bufferedInBlocked();
    const bytesHeld = buffered > 0 ? estimateBytes(this.gate.blockedBatches()) : 0;
    const t0 = performance.now();
    const snapshot = this.chain.snapshot(checkpointId); // throws: a sync-phase failure fails the task (as Flink)
    const syncDurationMs = performance.now() - t0;
    this.#lastSnapshotId = checkpointId;
    if (this.#phase === 'finishing') this.#finalCheckpointId = Math.min(this.#finalCheckpointId, checkpointId);
    this.#dirty = false;
    if (forward) this.output.broadcastEvent(barrier);
    if (this.#phase === 'running') this.actor.send({ type: 'SNAPSHOT_TAKEN', checkpointId });
    const asyncStart = performance.now();
    const completion = OperatorChain.complete(snapshot);
    this.#asyncParts.add(completion);
    const settled = () => this.#asyncParts.delete(completion);
    completion.then(settled, settled);
    return {
      checkpointId,
      completion,
      alignmentDurationMs,
      startDelayMs: this.#startDelayMs,
      syncDurationMs,
      asyncStart,
      bufferedDuringAlignment: buffered,
      bytesHeldDuringAlignment: bytesHeld,
    };
  }

  /** Acknowledges once the asynchronous part is done (with the in-flight data of an unaligned checkpoint). */
  #acknowledge(taken: TakenSnapshot, channelState?: ChannelStateSnapshot): void {
    const { checkpointId } = taken;
    taken.completion.then(
      ({ state, size }) => {
        if (this.#phase === 'failed' || this.#phase === 'canceled') return;
        this.host.acknowledge({
          type: 'ACKNOWLEDGE_CHECKPOINT',
          attempt: this.spec.attempt,
          checkpointId,
          subtask: this.id,
          state,
          metrics: {
            alignmentDurationMs: taken.alignmentDurationMs,
            startDelayMs: taken.startDelayMs,
            syncDurationMs: taken.syncDurationMs,
            asyncDurationMs: performance.now() - taken.asyncStart,
            stateSize: size + (channelState?.bytes ?? 0),
            bufferedDuringAlignment: taken.bufferedDuringAlignment,
            bytesHeldDuringAlignment: taken.bytesHeldDuringAlignment,
            unaligned: channelState !== undefined,
            persistedInFlightBytes: channelState?.bytes ?? 0,
          },
          ...(channelState ? { channelState } : {}),
        });
      },
      (error) => {
        if (this.#phase === 'failed' || this.#phase === 'canceled') return;
        this.#decline(checkpointId, error);
      },
    );
  }

  #decline(checkpointId: number, error: unknown): void {
    this.host.decline({ type: 'DECLINE_CHECKPOINT', attempt: this.spec.attempt, checkpointId, subtask: this.id, cause: serializeError(codedCause(error)) });
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
    // snapshots still being written read the operators' state (a LevelDB iterator): close only after them
    await Promise.allSettled([...this.#asyncParts]);
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
