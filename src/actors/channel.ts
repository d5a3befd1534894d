// A bounded channel between one producer subtask and one consumer subtask, with credit-based flow control.
import type { ChannelMessage } from './types.ts';

/**
 * Data buffers take a credit; events (barriers, end of partition) do not, as they must never
 * wait behind backpressure. The producer may send while it has credit; the consumer returns a
 * credit each time it takes a data buffer off the queue (Flink's credit-based network stack).
 */
export class Channel {
  #queue: ChannelMessage[] = [];
  #head = 0;
  #queuedData = 0;
  /** the most data buffers ever queued at once: what backpressure specs assert on */
  maxQueuedData = 0;
  /** called when a message arrives (wakes the consumer) */
  onMessage: () => void = () => {};
  /** called when a credit comes back (wakes a producer waiting for credit) */
  onCredit: () => void = () => {};
  /**
   * called when a barrier that may overtake arrives (unaligned, or aligned with a timeout): the
   * consumer learns of it at once, as Flink's priority events and barrier announcements, even
   * when data queued ahead of it keeps it from being read
   */
  onPriorityBarrier: () => void = () => {};

  constructor(
    readonly capacity: number,
    /** this channel's index in the consumer's input gate */
    readonly index: number,
  ) {}

  get credits(): number {
    return this.capacity - this.#queuedData;
  }

  get queuedData(): number {
    return this.#queuedData;
  }

  get size(): number {
    return this.#queue.length - this.#head;
  }

  push(message: ChannelMessage): void {
    this.#queue.push(message);
    if (message.type === 'data') {
      this.#queuedData++;
      if (this.#queuedData > this.maxQueuedData) this.maxQueuedData = this.#queuedData;
    } else if (message.type === 'barrier' && (message.options.alignment === 'unaligned' || message.options.alignedTimeoutMs)) {
      this.onPriorityBarrier();
    }
    this.onMessage();
  }

  /** Puts messages in front of everything queued (restored channel state is replayed before new input). */
  prepend(messages: ChannelMessage[]): void {
    this.#queue = [...messages, ...this.#queue.slice(this.#head)];
    this.#head = 0;
    for (const m of messages) if (m.type === 'data') this.#queuedData++;
    if (messages.length > 0) this.onMessage();
  }

  /**
   * An unaligned barrier overtakes: removes barrier `checkpointId` from the queue and returns the
   * data batches queued ahead of it (they stay queued, to be processed after the snapshot), or
   * null when the barrier is not queued or another event is ahead of it (events keep their order).
   */
  takeBarrier(checkpointId: number): unknown[][] | null {
    const ahead: unknown[][] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const m = this.#queue[i]!;
      if (m.type === 'data') {
        ahead.push(m.batch);
        continue;
      }
      // watermarks are not channel state (Flink regenerates them on recovery): the barrier overtakes them too
      if (m.type === 'watermark' || m.type === 'watermark-status') continue;
      if (m.type !== 'barrier' || m.checkpointId !== checkpointId) return null;
      this.#queue.splice(i, 1);
      return ahead;
    }
    return null;
  }

  /** Barriers queued now, oldest first (the consumer scans them when a priority barrier arrives). */
  queuedBarriers(): Array<Extract<ChannelMessage, { type: 'barrier' }>> {
    const out: Array<Extract<ChannelMessage, { type: 'barrier' }>> = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const m = this.#queue[i]!;
      if (m.type === 'barrier') out.push(m);
    }
    return out;
  }

  peek(): ChannelMessage | undefined {
    return this.#queue[this.#head];
  }

  poll(): ChannelMessage | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const message = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as never;
    // compact now and then instead of shift() per message
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    if (message.type === 'data') {
      this.#queuedData--;
      this.onCredit();
    }
    return message;
  }

  /** Queued messages, oldest first (inspection and unaligned checkpoints). */
  *queued(): IterableIterator<ChannelMessage> {
    for (let i = this.#head; i < this.#queue.length; i++) yield this.#queue[i]!;
  }

  clear(): void {
    this.#queue = [];
    this.#head = 0;
    this.#queuedData = 0;
  }
}
