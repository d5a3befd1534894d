// Flink's WatermarkOutputMultiplexer: one watermark out of several (a source subtask's splits), the minimum over the active ones.
import { MIN_WATERMARK } from './event-time.ts';
import type { WatermarkOutput } from './watermark-strategy.ts';

/** One input's part: its own watermark (only rises) and whether it is idle. */
interface Partial {
  watermark: number;
  idle: boolean;
}

/**
 * The combined watermark is the minimum over the registered outputs that are not idle, and only
 * rises; when every output is idle the combined output is marked idle (active again with the first
 * that is not). An output registered late starts at the minimum: it holds the combined watermark
 * where it is until it catches up. An unregistered output (a finished split) no longer counts.
 */
export class WatermarkOutputMultiplexer {
  readonly #partials = new Map<string, Partial>();
  #combined = MIN_WATERMARK;
  #idle = false;
  /** while periodic emission asks every output, the combined watermark is computed once at its end */
  #deferred = false;

  constructor(readonly out: WatermarkOutput) {}

  /** the combined watermark emitted so far */
  get currentWatermark(): number {
    return this.#combined;
  }

  get size(): number {
    return this.#partials.size;
  }

  has(id: string): boolean {
    return this.#partials.has(id);
  }

  /** Registers output `id` and returns where its generator emits. */
  register(id: string): WatermarkOutput {
    const partial: Partial = { watermark: MIN_WATERMARK, idle: false };
    this.#partials.set(id, partial);
    this.#update();
    return {
      emitWatermark: (ts) => {
        partial.idle = false;
        if (ts > partial.watermark) partial.watermark = ts;
        this.#update();
      },
      markIdle: () => {
        partial.idle = true;
        this.#update();
      },
      markActive: () => {
        partial.idle = false;
        this.#update();
      },
    };
  }

  unregister(id: string): void {
    if (this.#partials.delete(id)) this.#update();
  }

  /** Runs `emit` (every generator's periodic emission) and combines once afterwards (Flink's deferred outputs). */
  periodic(emit: () => void): void {
    this.#deferred = true;
    try {
      emit();
    } finally {
      this.#deferred = false;
    }
    this.#update();
  }

  /** A watermark that bypasses the outputs (the maximum at end of input). */
  emitCombined(ts: number): void {
    if (ts <= this.#combined) return;
    this.#combined = ts;
    this.out.emitWatermark(ts);
  }

  #update(): void {
    if (this.#deferred || this.#partials.size === 0) return;
    let min = Infinity;
    for (const p of this.#partials.values()) if (!p.idle && p.watermark < min) min = p.watermark;
    if (min === Infinity) {
      if (!this.#idle) {
        this.#idle = true;
        this.out.markIdle();
      }
      return;
    }
    if (this.#idle) {
      this.#idle = false;
      this.out.markActive();
    }
    this.emitCombined(min);
  }
}
