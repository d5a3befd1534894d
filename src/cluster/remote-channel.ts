// The producer's end of a channel whose consumer runs in another TaskManager: credit-based flow control over the wire.
import { Channel } from '../actors/channel.ts';
import type { ChannelMessage } from '../actors/types.ts';

/**
 * The output writer sees a Channel: `credits` and `push` as in-process. Credits are announced by the
 * consumer's TaskManager (its `buffers-per-channel`), a data buffer takes one, the consumer returns
 * one per buffer it takes off its queue. Until the announcement everything waits here, in order;
 * events never wait for credit, and since every message of a pair of TaskManagers goes over one
 * websocket in order, barriers keep their place among the data.
 */
export class RemoteOutputChannel extends Channel {
  #announced = false;
  #credits = 0;
  #waiting: ChannelMessage[] = [];

  constructor(
    readonly id: string,
    readonly send: (message: ChannelMessage) => void,
  ) {
    super(0, 0);
  }

  override get credits(): number {
    return this.#credits;
  }

  override get queuedData(): number {
    return 0;
  }

  override push(message: ChannelMessage): void {
    if (message.type === 'data') this.#credits--;
    if (!this.#announced) this.#waiting.push(message);
    else this.send(message);
  }

  /** credits from the consumer: the first announcement releases what waited */
  addCredit(n: number): void {
    this.#credits += n;
    if (!this.#announced) {
      this.#announced = true;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const m of waiting) this.send(m);
    }
    this.onCredit();
  }
}
