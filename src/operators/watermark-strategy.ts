// WatermarkStrategy (Flink's): how records get their event timestamps and how watermarks are generated from them.
import { JobDefinitionError } from '../errors.ts';
import { durationOf, MIN_WATERMARK } from './event-time.ts';

/** Where a generator emits: a watermark, or that its input went idle / active again. */
export interface WatermarkOutput {
  emitWatermark(timestamp: number): void;
  markIdle(): void;
  markActive(): void;
}

/** Flink's WatermarkGenerator: sees every event, and is asked periodically (`pipeline.auto-watermark-interval`). */
export interface WatermarkGenerator<T> {
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void;
  onPeriodicEmit(output: WatermarkOutput): void;
}

/** Returns the event time of a record in epoch milliseconds; `recordTimestamp` is the one it carries (MIN when none). */
export type TimestampAssigner<T> = (event: T, recordTimestamp: number) => number;

// method-style (bivariant) types, so a DataStream<Sub> still reads as a DataStream<Super>, as before strategies existed
type Assigner<T> = { bivariant(event: T, recordTimestamp: number): number }['bivariant'];
type GeneratorFactory<T> = { bivariant(clock?: () => number): WatermarkGenerator<T> }['bivariant'];

/** Flink's BoundedOutOfOrdernessWatermarks: the largest timestamp seen, minus the bound, minus 1 ms. */
class BoundedOutOfOrdernessWatermarks<T> implements WatermarkGenerator<T> {
  #max: number;
  constructor(readonly bound: number) {
    this.#max = MIN_WATERMARK + bound + 1;
  }
  onEvent(_event: T, ts: number): void {
    if (ts > this.#max) this.#max = ts;
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    output.emitWatermark(this.#max - this.bound - 1);
  }
}

class NoWatermarks<T> implements WatermarkGenerator<T> {
  onEvent(): void {}
  onPeriodicEmit(): void {}
}

/**
 * Flink's WatermarksWithIdleness: an input without records for `timeout` is marked idle (it stops
 * holding event time back downstream) and active again on its next record.
 */
class WatermarksWithIdleness<T> implements WatermarkGenerator<T> {
  #events = 0;
  #seen = 0;
  #lastChange: number;
  #idle = false;
  constructor(
    readonly inner: WatermarkGenerator<T>,
    readonly timeout: number,
    readonly clock: () => number,
  ) {
    this.#lastChange = clock();
  }
  onEvent(event: T, ts: number, output: WatermarkOutput): void {
    this.#events++;
    if (this.#idle) {
      this.#idle = false;
      output.markActive();
    }
    this.inner.onEvent(event, ts, output);
  }
  onPeriodicEmit(output: WatermarkOutput): void {
    const now = this.clock();
    if (this.#events !== this.#seen) {
      this.#seen = this.#events;
      this.#lastChange = now;
    } else if (!this.#idle && now - this.#lastChange >= this.timeout) {
      this.#idle = true;
      output.markIdle();
      return;
    }
    if (!this.#idle) this.inner.onPeriodicEmit(output);
  }
}

/*
 * The factories' type parameter defaults to `any`: in `stream.assignTimestampsAndWatermarks(WatermarkStrategy
 * .forBoundedOutOfOrderness('2s').withTimestampAssigner((e) => e.ts))` the strategy is built before TypeScript
 * sees the stream it is for, so with `unknown` that line (the issue's and Flink's idiom) did not type-check.
 * `forBoundedOutOfOrderness<Event>('2s')` types the assigner's argument.
 */
export class WatermarkStrategy<T> {
  private constructor(
    readonly createWatermarkGenerator: GeneratorFactory<T>,
    readonly timestampAssigner: Assigner<T> | null,
    readonly idleTimeout: number | null,
    /** what it says in errors and the job's plan */
    readonly description: string,
  ) {}

  /** Watermarks that trail the largest timestamp seen by `maxOutOfOrderness` (ms or '2s'): max − bound − 1 ms. */
  static forBoundedOutOfOrderness<T = any>(maxOutOfOrderness: string | number): WatermarkStrategy<T> {
    const bound = durationOf(maxOutOfOrderness, 'forBoundedOutOfOrderness: the bound', { allowZero: true });
    return new WatermarkStrategy<T>(
      () => new BoundedOutOfOrdernessWatermarks<T>(bound),
      null,
      null,
      `forBoundedOutOfOrderness(${bound} ms)`,
    );
  }

  /** Timestamps that only rise: the watermark is the largest timestamp seen − 1 ms. */
  static forMonotonousTimestamps<T = any>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new BoundedOutOfOrdernessWatermarks<T>(0), null, null, 'forMonotonousTimestamps()');
  }

  /** No watermarks (processing-time jobs); a bounded input still sends the maximum watermark when it ends. */
  static noWatermarks<T = any>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(() => new NoWatermarks<T>(), null, null, 'noWatermarks()');
  }

  /** Flink's forGenerator: a watermark generator of your own. */
  static forGenerator<T = any>(create: () => WatermarkGenerator<T>): WatermarkStrategy<T> {
    if (typeof create !== 'function') throw new TypeError('forGenerator needs a function that returns a WatermarkGenerator');
    return new WatermarkStrategy<T>(create, null, null, 'forGenerator(...)');
  }

  /** How a record's event timestamp (epoch ms) is read from it. */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    if (typeof assigner !== 'function') throw new TypeError('withTimestampAssigner needs a function (event) => timestamp in ms');
    return new WatermarkStrategy<T>(this.createWatermarkGenerator, assigner, this.idleTimeout, this.description);
  }

  /** An input without records for `timeout` turns idle and stops holding event time back, until its next record. */
  withIdleness(timeout: string | number): WatermarkStrategy<T> {
    const ms = durationOf(timeout, 'withIdleness: the timeout');
    if (ms <= 0)
      throw new JobDefinitionError('FLOE_BAD_DURATION', 'withIdleness: the timeout must be larger than 0', {
        hint: 'e.g. withIdleness("1 min")',
      });
    return new WatermarkStrategy<T>(
      this.createWatermarkGenerator,
      this.timestampAssigner,
      ms,
      `${this.description}.withIdleness(${ms} ms)`,
    );
  }

  /** The generator of one input (a source split or a subtask), with idleness when it was asked for. */
  createGenerator(clock: () => number = Date.now): WatermarkGenerator<T> {
    const inner = this.createWatermarkGenerator(clock);
    return this.idleTimeout === null ? inner : new WatermarksWithIdleness(inner, this.idleTimeout, clock);
  }
}
