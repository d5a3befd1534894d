// Barrier alignment (exactly-once), counting (at-least-once) and overtaking (unaligned) for one task's input gate.
import type { Barrier, CheckpointingMode } from '../checkpoint/types.ts';
import { ChannelState } from './channel-state.ts';
import { InFlightData } from './in-flight-data.ts';

export type { Barrier };

export type AbortReason =
  /** a barrier of a newer checkpoint arrived before this one was complete */
  | 'subsumed'
  /** an upstream task canceled the checkpoint */
  | 'canceled-upstream';

/** The input side the handler steers: the checkpointed input gate's channels and its timer. */
export interface AlignmentInput {
  /** exactly-once: stop reading this channel until the alignment ends */
  blockChannel(channel: number): void;
  unblockAll(): void;
  /** removes barrier `checkpointId` from the channel's queue and returns the data ahead of it, or null if it is not there */
  takeBarrier(channel: number, checkpointId: number): unknown[][] | null;
  /** aligned with a timeout: call alignmentTimedOut(checkpointId) after `ms` */
  startAlignmentTimer(checkpointId: number, ms: number): void;
}

/** Where the handler's verdicts go: the subtask checkpointer (a recording double in the barrier specs). */
export interface BarrierListener {
  /** the first barrier (or announcement) of checkpoint `barrier.checkpointId` arrived */
  alignmentStarted(barrier: Barrier): void;
  /** every channel delivered the barrier (or ended): snapshot and forward it */
  alignmentCompleted(barrier: Barrier, alignmentDurationMs: number): void;
  /** give up checkpoint `checkpointId` here: forward a cancel barrier and decline */
  alignmentAborted(checkpointId: number, reason: AbortReason): void;
  /** unaligned: snapshot now and forward the (unaligned) barrier; the ack waits for channelStateCompleted */
  snapshotUnaligned(barrier: Barrier, alignmentDurationMs: number): void;
  /** unaligned: the last barrier arrived, the in-flight data of the checkpoint is complete */
  channelStateCompleted(barrier: Barrier, inFlight: InFlightData): void;
}

/**
 * Follows Flink's SingleCheckpointBarrierHandler: waiting for the first barrier, then collecting
 * barriers until every channel has delivered one, then back to waiting. Aligned (exactly-once)
 * blocks a channel that delivered its barrier; at-least-once only counts. Unaligned snapshots at
 * the first barrier and lets later barriers overtake the data queued ahead of them: that data,
 * and whatever the task reads from a channel before its barrier, becomes the checkpoint's
 * in-flight data (channel state). An aligned checkpoint with a timeout turns unaligned when its
 * alignment here lasts longer than the timeout.
 */
export class BarrierHandler {
  readonly #channels: ChannelState;
  /** the newest checkpoint seen (started, completed or aborted): anything older is stale */
  #latestId = 0;
  #pending: Barrier | null = null;
  #startedAt = 0;
  /** the pending checkpoint was snapshotted unaligned: collecting in-flight data until every barrier arrived */
  #inFlight: InFlightData | null = null;

  constructor(
    readonly numChannels: number,
    readonly mode: CheckpointingMode,
    readonly input: AlignmentInput,
    readonly listener: BarrierListener,
    readonly clock: () => number = performance.now.bind(performance),
  ) {
    this.#channels = new ChannelState(numChannels);
  }

  /** the checkpoint being aligned, or null when waiting for a first barrier */
  get pendingCheckpointId(): number | null {
    return this.#pending?.checkpointId ?? null;
  }

  get latestCheckpointId(): number {
    return this.#latestId;
  }

  get allEnded(): boolean {
    return this.#channels.allEnded;
  }

  /** true while data read from some channel must be kept as in-flight data (the task then calls processData) */
  get capturing(): boolean {
    return this.#inFlight !== null;
  }

  /** the pending checkpoint is unaligned here */
  get unaligned(): boolean {
    return this.#inFlight !== null;
  }

  isEnded(channel: number): boolean {
    return this.#channels.isEnded(channel);
  }

  /** A barrier read in order, after every record sent before it. */
  processBarrier(channel: number, barrier: Barrier): void {
    const id = barrier.checkpointId;
    if (this.#isStale(id)) return;
    if (this.#pending && id > this.#pending.checkpointId) this.#abort('subsumed');
    if (!this.#pending) this.#start(barrier);
    if (!this.#channels.mark(channel)) return;
    if (!this.#inFlight) {
      if (this.mode === 'exactly-once' && barrier.options.alignment === 'unaligned') return this.#goUnaligned();
      if (this.mode === 'exactly-once') this.input.blockChannel(channel);
    }
    this.#completeIfAligned();
  }

  /**
   * A barrier that may overtake, seen in a channel's queue as soon as it was sent (Flink's priority
   * event, or the announcement of an aligned barrier with a timeout). Unaligned: it overtakes the
   * data queued ahead of it, which becomes in-flight data. Aligned: it starts the alignment clock.
   */
  processPriorityBarrier(channel: number, barrier: Barrier): void {
    if (this.mode !== 'exactly-once') return; // counted in order
    const id = barrier.checkpointId;
    const unaligned = barrier.options.alignment === 'unaligned';
    if (this.#isStale(id)) return;
    if (this.#pending && id > this.#pending.checkpointId) {
      if (!unaligned) return; // an announced newer aligned barrier subsumes when read in order
      this.#abort('subsumed');
    }
    if (!this.#pending) this.#start(barrier);
    if (unaligned && !this.#inFlight) return this.#goUnaligned();
    if (this.#inFlight) this.#overtake(channel);
    this.#completeIfAligned();
  }

  /** Data read from `channel` while capturing: kept if it was sent before that channel's barrier. */
  processData(channel: number, batch: unknown[]): void {
    if (this.#inFlight && !this.#channels.hasArrived(channel) && !this.#channels.isEnded(channel)) this.#inFlight.add(channel, batch);
  }

  /** The aligned-checkpoint timeout fired: if still aligning `checkpointId`, switch it to unaligned. */
  alignmentTimedOut(checkpointId: number): void {
    if (this.#pending?.checkpointId !== checkpointId || this.#inFlight) return;
    this.#goUnaligned();
  }

  processCancelBarrier(channel: number, checkpointId: number): void {
    void channel;
    if (this.#isStale(checkpointId)) return;
    if (this.#pending) {
      if (checkpointId === this.#pending.checkpointId) return this.#abort('canceled-upstream');
      this.#abort('subsumed'); // a cancel of a newer checkpoint also ends the older alignment
    }
    // canceled before its first barrier reached this task: still forward the cancellation once
    this.#latestId = checkpointId;
    this.listener.alignmentAborted(checkpointId, 'canceled-upstream');
  }

  processEndOfPartition(channel: number): void {
    this.#channels.end(channel);
    this.#completeIfAligned();
  }

  #isStale(id: number): boolean {
    return id < this.#latestId || (id === this.#latestId && !this.#pending);
  }

  #start(barrier: Barrier): void {
    this.#pending = barrier;
    this.#latestId = barrier.checkpointId;
    this.#startedAt = this.clock();
    this.listener.alignmentStarted(barrier);
    const timeout = barrier.options.alignedTimeoutMs;
    if (this.mode === 'exactly-once' && barrier.options.alignment === 'aligned' && timeout)
      this.input.startAlignmentTimer(barrier.checkpointId, timeout);
  }

  /** Snapshot now, forward the barrier as unaligned, and let every barrier still queued overtake. */
  #goUnaligned(): void {
    const pending = this.#pending!;
    const { alignedTimeoutMs: _, ...options } = pending.options;
    const barrier: Barrier = { ...pending, options: { ...options, alignment: 'unaligned' } };
    this.#pending = barrier;
    this.#inFlight = new InFlightData(this.numChannels);
    // data queued in channels whose barrier already arrived belongs to the next checkpoint: read it on
    this.input.unblockAll();
    this.listener.snapshotUnaligned(barrier, this.clock() - this.#startedAt);
    for (let c = 0; c < this.numChannels; c++) this.#overtake(c);
    this.#completeIfAligned();
  }

  /** If the pending barrier is queued in `channel`, take it: the data ahead of it is in-flight data. */
  #overtake(channel: number): void {
    if (this.#channels.hasArrived(channel) || this.#channels.isEnded(channel)) return;
    const ahead = this.input.takeBarrier(channel, this.#pending!.checkpointId);
    if (ahead === null) return;
    for (const batch of ahead) this.#inFlight!.add(channel, batch);
    this.#channels.mark(channel);
  }

  #completeIfAligned(): void {
    if (!this.#pending || !this.#channels.allClear()) return;
    const barrier = this.#pending;
    const inFlight = this.#inFlight;
    const duration = this.clock() - this.#startedAt;
    this.#pending = null;
    this.#inFlight = null;
    this.#channels.reset();
    if (inFlight) return this.listener.channelStateCompleted(barrier, inFlight);
    // snapshot and forward first, then unblock: input after the barrier belongs to the next checkpoint
    this.listener.alignmentCompleted(barrier, duration);
    if (this.mode === 'exactly-once') this.input.unblockAll();
  }

  #abort(reason: AbortReason): void {
    const id = this.#pending!.checkpointId;
    this.#reset();
    this.listener.alignmentAborted(id, reason);
  }

  #reset(): void {
    this.#pending = null;
    this.#inFlight = null;
    this.#channels.reset();
    if (this.mode === 'exactly-once') this.input.unblockAll();
  }
}
