// The subtask checkpointer (Flink's SubtaskCheckpointCoordinator): takes a task's snapshots, forwards barriers, acknowledges or declines, passes completions on to the operators.
import type { FromTaskMessage } from '../checkpoint/control-messages.ts';
import { codedCause, serializeError } from '../checkpoint/serialized-error.ts';
import type { ChannelStateSnapshot, TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import type { Barrier, CheckpointOptions, SubtaskId } from '../checkpoint/types.ts';
import { CheckpointError } from '../errors.ts';
import { emitFloeWarning } from '../warnings.ts';
import type { AbortReason, BarrierListener } from './barrier-handler.ts';
import type { CheckpointedInputGate } from './checkpointed-input-gate.ts';
import { estimateBytes, type InFlightData } from './in-flight-data.ts';
import { OperatorChain } from './operator-chain.ts';
import type { OutputWriter } from './output-writer.ts';
import type { TaskEvent } from './task-machine.ts';

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

export interface CheckpointerSetup {
  subtask: SubtaskId;
  attempt: number;
  taskName: string;
  /** head operator uid, parallelism and input channel count: what a channel state snapshot records */
  headUid: string;
  parallelism: number;
  chain: OperatorChain;
  output: OutputWriter;
  gate: () => CheckpointedInputGate;
  /** a control message to the job master / coordinator */
  send(message: FromTaskMessage): void;
  /** tells the task's machine what checkpointing did */
  signal(event: TaskEvent): void;
  /** false once the task failed or was canceled: nothing is acknowledged any more */
  isActive(): boolean;
  /** the task's input ended and its operators' endInput ran: its checkpoints mark the state finished */
  inputFinished?(): boolean;
}

/** The final snapshot of a task without periodic checkpointing: in no checkpoint (the coordinator's ids start at 1). */
export const FINAL_SNAPSHOT_ID = 0;
const FINAL: CheckpointOptions = { kind: 'checkpoint', alignment: 'aligned' };

export class SubtaskCheckpointer implements BarrierListener {
  /** data was processed since the last snapshot: a final checkpoint must come later (set by the task per batch) */
  dirty = false;
  #startDelayMs = 0;
  /** asynchronous snapshot parts under way */
  readonly #asyncParts = new Set<Promise<unknown>>();
  /** an unaligned snapshot waiting for its in-flight data */
  #unalignedSnapshot: TakenSnapshot | null = null;

  constructor(readonly setup: CheckpointerSetup) {}

  // ---- triggers from the coordinator ----

  /** A source starts checkpoint `barrier.checkpointId`: snapshot, and the barrier goes downstream. */
  triggerAtSource(barrier: Barrier): void {
    this.#startDelayMs = Math.max(0, Date.now() - barrier.timestamp);
    this.#acknowledgeWhenDone(this.#takeSnapshot(barrier, 0, true));
  }

  /** A task whose input ended (and was flushed) snapshots directly: no barrier can reach it, none goes on. */
  snapshotFinishing(barrier: Barrier): void {
    this.#acknowledgeWhenDone(this.#takeSnapshot(barrier, 0, false));
  }

  /**
   * Without periodic checkpointing, the task's input ended and was flushed: it takes the snapshot a final checkpoint
   * would take (marked finished) and sends it to the coordinator as its final state, so savepoints taken after the
   * task finished hold it (Flink's FLIP-147). The task closes only after it is written (settled) and reports finished
   * after it was sent. It belongs to no checkpoint: id 0, which the coordinator never gives one, so no abort discards
   * its files. If it fails the task still finishes (its sinks committed at endInput), with a warning: the coordinator
   * then refuses savepoints with FLOE_CHECKPOINT_TASK_FINISHED, and the warning says why.
   */
  snapshotFinal(): void {
    const { subtask, attempt } = this.setup;
    let taken: TakenSnapshot;
    try {
      taken = this.#takeSnapshot({ type: 'barrier', checkpointId: FINAL_SNAPSHOT_ID, timestamp: Date.now(), options: FINAL }, 0, false);
    } catch (error) {
      return this.#finalStateFailed(error);
    }
    taken.completion.then(
      ({ state }) => {
        if (this.setup.isActive()) this.setup.send({ type: 'FINAL_STATE', attempt, subtask, state });
      },
      (error: unknown) => this.#finalStateFailed(error),
    );
  }

  #finalStateFailed(error: unknown): void {
    emitFloeWarning(
      'FLOE_TASK_FINAL_STATE_FAILED',
      `task ${this.setup.taskName} finished, but its final state could not be snapshotted: ${serializeError(error).message}; savepoints of this job are refused from now on`,
      'take savepoints before the sources end, or turn on checkpointing (execution.checkpointing.interval), whose final checkpoint holds the state instead',
    );
  }

  declineNotReady(checkpointId: number, phase: string): void {
    this.decline(checkpointId, new CheckpointError('FLOE_TASK_NOT_READY', `task ${this.setup.taskName} is ${phase}, not running`));
  }

  // ---- the barrier handler's verdicts ----

  alignmentStarted(barrier: Barrier): void {
    this.#startDelayMs = Math.max(0, Date.now() - barrier.timestamp);
    this.setup.signal({ type: 'ALIGNMENT_STARTED', checkpointId: barrier.checkpointId });
  }

  alignmentCompleted(barrier: Barrier, alignmentDurationMs: number): void {
    this.setup.signal({ type: 'ALIGNED', checkpointId: barrier.checkpointId });
    this.#acknowledgeWhenDone(this.#takeSnapshot(barrier, alignmentDurationMs, true));
  }

  snapshotUnaligned(barrier: Barrier, alignmentDurationMs: number): void {
    this.setup.signal({ type: 'ALIGNED', checkpointId: barrier.checkpointId });
    this.#unalignedSnapshot = this.#takeSnapshot(barrier, alignmentDurationMs, true);
  }

  channelStateCompleted(barrier: Barrier, inFlight: InFlightData): void {
    const taken = this.#unalignedSnapshot;
    if (!taken || taken.checkpointId !== barrier.checkpointId) return;
    this.#unalignedSnapshot = null;
    const { headUid, subtask, parallelism } = this.setup;
    const channelState: ChannelStateSnapshot = {
      operatorUid: headUid,
      subtaskIndex: subtask.subtaskIndex,
      parallelism,
      inputChannels: this.setup.gate().channels.length,
      inputs: inFlight.buffers,
      bytes: inFlight.bytes,
    };
    this.#acknowledgeWhenDone(taken, channelState);
  }

  alignmentAborted(checkpointId: number, reason: AbortReason): void {
    if (this.#unalignedSnapshot?.checkpointId === checkpointId) this.#unalignedSnapshot = null;
    this.setup.signal({ type: 'ALIGNMENT_ABORTED', checkpointId, reason });
    this.setup.output.broadcastEvent({ type: 'cancel-barrier', checkpointId });
    const code = reason === 'subsumed' ? 'FLOE_CHECKPOINT_SUBSUMED' : 'FLOE_CHECKPOINT_CANCELED_UPSTREAM';
    this.decline(checkpointId, new CheckpointError(code, `checkpoint ${checkpointId} ${reason} at ${this.setup.taskName}`));
  }

  // ---- snapshot, acknowledge, decline ----

  /** The synchronous part: snapshot the chain, forward the barrier; the asynchronous part starts. */
  #takeSnapshot(barrier: Barrier, alignmentDurationMs: number, forward: boolean): TakenSnapshot {
    const { checkpointId } = barrier;
    const { chain, output } = this.setup;
    const gate = this.setup.gate();
    const buffered = gate.bufferedInBlocked();
    const bytesHeld = buffered > 0 ? estimateBytes(gate.blockedBatches()) : 0;
    const t0 = performance.now();
    const snapshot = chain.snapshot(checkpointId); // throws: a sync-phase failure fails the task (as Flink)
    const syncDurationMs = performance.now() - t0;
    this.dirty = false;
    if (forward) output.broadcastEvent(barrier);
    this.setup.signal({ type: 'SNAPSHOT_TAKEN', checkpointId });
    const asyncStart = performance.now();
    const finished = barrier.options.kind === 'checkpoint' && this.setup.inputFinished?.() === true;
    const completion = finished ? OperatorChain.complete(snapshot).then(markFinished) : OperatorChain.complete(snapshot);
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
  #acknowledgeWhenDone(taken: TakenSnapshot, channelState?: ChannelStateSnapshot): void {
    const { checkpointId } = taken;
    const { subtask, attempt } = this.setup;
    taken.completion.then(
      ({ state, size }) => {
        if (!this.setup.isActive()) return;
        this.setup.send({
          type: 'ACKNOWLEDGE_CHECKPOINT',
          attempt,
          subtask,
          checkpointId,
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
        if (this.setup.isActive()) this.decline(checkpointId, error);
      },
    );
  }

  /** Declines with a coded cause (an uncoded failure becomes FLOE_CHECKPOINT_SNAPSHOT_FAILED, itself the cause). */
  decline(checkpointId: number, error: unknown): void {
    const { subtask, attempt } = this.setup;
    this.setup.send({ type: 'DECLINE_CHECKPOINT', attempt, subtask, checkpointId, cause: serializeError(codedCause(error)) });
  }

  // ---- completions ----

  /** The checkpoint is complete: operators commit (two-phase commit sinks) and incremental backends build on it. */
  notifyComplete(checkpointId: number): Promise<void> {
    return this.setup.chain.notifyCheckpointComplete(checkpointId);
  }

  notifyAborted(checkpointId: number): Promise<void> {
    return this.setup.chain.notifyCheckpointAborted(checkpointId);
  }

  /** Snapshots still being written read the operators' state (a LevelDB iterator): the chain closes only after them. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#asyncParts]);
  }
}

/** Every operator state of a snapshot taken after the task's endInput: a restore does not run it again. */
function markFinished(taken: { state: TaskStateSnapshot; size: number }): { state: TaskStateSnapshot; size: number } {
  for (const uid of Object.keys(taken.state)) taken.state[uid] = { ...taken.state[uid]!, finished: true };
  return taken;
}
