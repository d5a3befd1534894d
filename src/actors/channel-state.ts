// Which input channels have delivered the current barrier, and which have ended (Flink's ChannelState).

export class ChannelState {
  readonly #arrived: boolean[];
  readonly #ended: boolean[];
  #arrivedCount = 0;
  #endedCount = 0;

  constructor(readonly size: number) {
    this.#arrived = new Array(size).fill(false);
    this.#ended = new Array(size).fill(false);
  }

  /** Marks a barrier from `channel`; returns false if it had already arrived. */
  mark(channel: number): boolean {
    if (this.#arrived[channel] || this.#ended[channel]) return false;
    this.#arrived[channel] = true;
    this.#arrivedCount++;
    return true;
  }

  hasArrived(channel: number): boolean {
    return this.#arrived[channel]!;
  }

  /** An ended channel counts as having delivered every later barrier. */
  end(channel: number): void {
    if (this.#ended[channel]) return;
    if (this.#arrived[channel]) {
      this.#arrived[channel] = false;
      this.#arrivedCount--;
    }
    this.#ended[channel] = true;
    this.#endedCount++;
  }

  isEnded(channel: number): boolean {
    return this.#ended[channel]!;
  }

  get allEnded(): boolean {
    return this.#endedCount === this.size;
  }

  /** Every channel has delivered the barrier or ended. */
  allClear(): boolean {
    return this.#arrivedCount + this.#endedCount === this.size;
  }

  get arrivedCount(): number {
    return this.#arrivedCount;
  }

  reset(): void {
    this.#arrived.fill(false);
    this.#arrivedCount = 0;
  }
}
