// The watermark valve of an input gate (Flink's StatusWatermarkValve): a watermark and a status per channel, the minimum over active channels forwarded when it rises.
import { MIN_WATERMARK } from '../operators/event-time.ts';

export type WatermarkStatus = 'active' | 'idle';

/** What the valve lets out: a new watermark of the task, or a change of the task's status. */
export interface ValveOutput {
  watermark(timestamp: number): void;
  status(status: WatermarkStatus): void;
}

interface ChannelWatermark {
  watermark: number;
  idle: boolean;
  /** counted in the minimum: active and not behind the last output (a channel back from idle behind is not, until it catches up) */
  aligned: boolean;
}

export class StatusWatermarkValve {
  readonly #channels: ChannelWatermark[];
  #lastOutput = MIN_WATERMARK;
  #idle = false;

  constructor(
    channels: number,
    readonly output: ValveOutput,
  ) {
    this.#channels = Array.from({ length: channels }, () => ({ watermark: MIN_WATERMARK, idle: false, aligned: true }));
  }

  /** the last watermark let out (the task's event time) */
  get currentWatermark(): number {
    return this.#lastOutput;
  }

  get idle(): boolean {
    return this.#idle;
  }

  inputWatermark(channel: number, timestamp: number): void {
    const c = this.#channels[channel]!;
    // a watermark of an idle channel, or while every input is idle, is ignored (Flink's valve)
    if (c.idle || this.#idle) return;
    if (timestamp <= c.watermark) return;
    c.watermark = timestamp;
    if (!c.aligned && timestamp >= this.#lastOutput) c.aligned = true;
    this.#emitMinimum();
  }

  inputStatus(channel: number, status: WatermarkStatus): void {
    const c = this.#channels[channel]!;
    if (status === 'idle' && !c.idle) {
      c.idle = true;
      c.aligned = false;
      if (this.#channels.every((x) => x.idle)) {
        // every channel idle: let out the largest watermark, then the task turns idle
        const max = Math.max(...this.#channels.map((x) => x.watermark));
        if (max > this.#lastOutput) {
          this.#lastOutput = max;
          this.output.watermark(max);
        }
        this.#idle = true;
        this.output.status('idle');
      } else {
        this.#emitMinimum();
      }
    } else if (status === 'active' && c.idle) {
      c.idle = false;
      // back from idle behind the output: not counted until it catches up
      c.aligned = c.watermark >= this.#lastOutput;
      if (this.#idle) {
        this.#idle = false;
        this.output.status('active');
      }
    }
  }

  /** An ended channel holds nothing back any more (its producer sent the maximum watermark first). */
  channelEnded(channel: number): void {
    const c = this.#channels[channel]!;
    c.idle = true;
    c.aligned = false;
    this.#emitMinimum();
  }

  #emitMinimum(): void {
    let min = Infinity;
    for (const c of this.#channels) if (c.aligned && c.watermark < min) min = c.watermark;
    if (min !== Infinity && min > this.#lastOutput) {
      this.#lastOutput = min;
      this.output.watermark(min);
    }
  }
}
