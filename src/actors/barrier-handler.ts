// Barrier alignment (exactly-once) and barrier counting (at-least-once) for one task's input gate.
import type { CheckpointingMode, ChannelMessage } from './types.ts';
import { ChannelState } from './channel-state.ts';

export type Barrier = Extract<ChannelMessage, { type: 'barrier' }>;

export type AbortReason =
  /** a barrier of a newer checkpoint arrived before this one was complete */
  | 'subsumed'
  /** an upstream task canceled the checkpoint */
  | 'canceled-upstream';

/** What the handler asks of its task; a recording double stands in for it in specs. */
export interface BarrierHandlerHost {
  /** exactly-once: stop reading this channel until the alignment ends */
  blockChannel(channel: number): void;
  unblockAll(): void;
  /** the first barrier of checkpoint `barrier.checkpointId` arrived */
  alignmentStarted(barrier: Barrier): void;
  /** every channel delivered the barrier (or ended): snapshot and forward it */
  alignmentCompleted(barrier: Barrier, alignmentDurationMs: number): void;
  /** give up checkpoint `checkpointId` here: forward a cancel barrier and decline */
  alignmentAborted(checkpointId: number, reason: AbortReason): void;
}

/**
 * Follows Flink's SingleCheckpointBarrierHandler: waiting for the first barrier, then collecting
 * barriers until every channel has delivered one, then back to waiting. The only difference
 * between the modes is whether a channel that delivered its barrier is blocked.
 */
export class BarrierHandler {
  readonly #channels: ChannelState;
  /** the newest checkpoint seen (started, completed or aborted): anything older is stale */
  #latestId = 0;
  #pending: Barrier | null = null;
  #startedAt = 0;

  constructor(
    numChannels: number,
    readonly mode: CheckpointingMode,
    readonly host: BarrierHandlerHost,
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

  isEnded(channel: number): boolean {
    return this.#channels.isEnded(channel);
  }

  processBarrier(channel: number, barrier: Barrier): void {
    const id = barrier.checkpointId;
    if (id < this.#latestId || (id === this.#latestId && !this.#pending)) return; // stale: ignore
    if (this.#pending && id > this.#pending.checkpointId) this.#abort('subsumed');
    if (!this.#pending) {
      this.#pending = barrier;
      this.#latestId = id;
      this.#startedAt = this.clock();
      this.host.alignmentStarted(barrier);
    }
    if (!this.#channels.mark(channel)) return;
    if (this.mode === 'exactly-once') this.host.blockChannel(channel);
    this.#completeIfAligned();
  }

  processCancelBarrier(channel: number, checkpointId: number): void {
    void channel;
    if (checkpointId < this.#latestId || (checkpointId === this.#latestId && !this.#pending)) return; // stale
    if (this.#pending) {
      if (checkpointId === this.#pending.checkpointId) return this.#abort('canceled-upstream');
      this.#abort('subsumed'); // a cancel of a newer checkpoint also ends the older alignment
    }
    // canceled before its first barrier reached this task: still forward the cancellation once
    this.#latestId = checkpointId;
    this.host.alignmentAborted(checkpointId, 'canceled-upstream');
  }

  processEndOfPartition(channel: number): void {
    this.#channels.end(channel);
    this.#completeIfAligned();
  }

  #completeIfAligned(): void {
    if (!this.#pending || !this.#channels.allClear()) return;
    const barrier = this.#pending;
    const duration = this.clock() - this.#startedAt;
    this.#pending = null;
    this.#channels.reset();
    // snapshot and forward first, then unblock: input after the barrier belongs to the next checkpoint
    this.host.alignmentCompleted(barrier, duration);
    if (this.mode === 'exactly-once') this.host.unblockAll();
  }

  #abort(reason: AbortReason): void {
    const id = this.#pending!.checkpointId;
    this.#reset();
    this.host.alignmentAborted(id, reason);
  }

  #reset(): void {
    this.#pending = null;
    this.#channels.reset();
    if (this.mode === 'exactly-once') this.host.unblockAll();
  }
}
