// The input gate: one channel per upstream subtask, read round-robin, skipping blocked channels.
import type { Channel } from './channel.ts';
import type { ChannelMessage } from './types.ts';

export class InputGate {
  readonly #blocked: boolean[];
  #next = 0;

  constructor(readonly channels: Channel[]) {
    this.#blocked = channels.map(() => false);
  }

  get size(): number {
    return this.channels.length;
  }

  block(channel: number): void {
    this.#blocked[channel] = true;
  }

  unblockAll(): void {
    this.#blocked.fill(false);
  }

  isBlocked(channel: number): boolean {
    return this.#blocked[channel]!;
  }

  /** Whether a message can be read now (some unblocked channel has one). */
  hasInput(): boolean {
    for (let i = 0; i < this.channels.length; i++) {
      if (!this.#blocked[i] && this.channels[i]!.size > 0) return true;
    }
    return false;
  }

  /** Takes the next message, round-robin over unblocked channels, or undefined. */
  pollNext(): { channel: number; message: ChannelMessage } | undefined {
    const n = this.channels.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (this.#blocked[i]) continue;
      const message = this.channels[i]!.poll();
      if (message) {
        this.#next = (i + 1) % n;
        return { channel: i, message };
      }
    }
    return undefined;
  }

  /** Data batches queued in blocked channels (alignment metrics). */
  *blockedBatches(): IterableIterator<unknown[]> {
    for (let i = 0; i < this.channels.length; i++) {
      if (!this.#blocked[i]) continue;
      for (const m of this.channels[i]!.queued()) if (m.type === 'data') yield m.batch;
    }
  }

  /** Records left queued in blocked channels (alignment metrics). */
  bufferedInBlocked(): number {
    let records = 0;
    for (let i = 0; i < this.channels.length; i++) {
      if (!this.#blocked[i]) continue;
      for (const m of this.channels[i]!.queued()) if (m.type === 'data') records += m.batch.length;
    }
    return records;
  }
}
