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
    }
    this.onMessage();
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
