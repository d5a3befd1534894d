// assignTimestampsAndWatermarks: stamps each record with its event time and generates watermarks (Flink's TimestampsAndWatermarksOperator).
import { UnrecoverableError } from '../errors.ts';
import { MAX_WATERMARK, MIN_WATERMARK, type ElementTimestamp } from './event-time.ts';
import type { OperatorContext, Output, StreamOperator } from './operator.ts';
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from './watermark-strategy.ts';

function describe(record: unknown): string {
  try {
    const text = JSON.stringify(record);
    return text.length > 200 ? `${text.slice(0, 200)}...` : text;
  } catch {
    return String(record);
  }
}

/** A returned timestamp as it was: a string in quotes (a number in quotes looks like a number otherwise). */
function shown(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (a string)`;
  if (typeof value === 'bigint') return `${value}n (a bigint)`;
  if (value !== null && typeof value === 'object') return describe(value);
  return String(value);
}

export class TimestampsAndWatermarksOperator<T> implements StreamOperator<T, T> {
  #out!: Output<T>;
  #uid = '';
  #timestamp!: ElementTimestamp;
  #generator!: WatermarkGenerator<T>;
  #interval = 0;
  #lastEmit = 0;
  #current = MIN_WATERMARK;
  #timer: ReturnType<typeof setInterval> | null = null;
  readonly #wm: WatermarkOutput = {
    emitWatermark: (ts) => {
      // only rising watermarks go out (Flink's WatermarkEmitter)
      if (ts <= this.#current) return;
      this.#current = ts;
      this.#out.emitWatermark?.(ts);
    },
    markIdle: () => this.#out.emitWatermarkStatus?.('idle'),
    markActive: () => this.#out.emitWatermarkStatus?.('active'),
  };

  constructor(
    readonly strategy: WatermarkStrategy<T>,
    readonly clock: () => number = Date.now,
  ) {}

  open(context: OperatorContext, output: Output<T>): void {
    this.#out = output;
    this.#uid = context.operatorUid;
    this.#timestamp = context.elementTimestamp;
    this.#generator = this.strategy.createGenerator(this.clock);
    this.#interval = context.autoWatermarkInterval;
    this.#lastEmit = this.clock();
    // idleness is noticed without records: the task is woken each interval to ask the generator
    if (this.strategy.idleTimeout !== null && this.#interval > 0 && context.requestWake) {
      this.#timer = setInterval(context.requestWake, this.#interval);
      this.#timer.unref();
    }
  }

  processElement(record: T): void {
    const assigner = this.strategy.timestampAssigner;
    const previous = this.#timestamp.current ?? MIN_WATERMARK;
    const ts = assigner ? assigner(record, previous) : previous;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) {
      throw new UnrecoverableError(
        'FLOE_BAD_TIMESTAMP',
        `operator '${this.#uid}': the timestamp assigner returned ${shown(ts)} for record ${describe(record)}; a timestamp must be a finite number of epoch milliseconds`,
        {
          hint: assigner
            ? 'make withTimestampAssigner return a number (e.g. Date.parse(e.time))'
            : 'give the strategy withTimestampAssigner((e) => e.ts)',
        },
      );
    }
    this.#timestamp.current = ts;
    // the record goes out before the watermark its event may raise (as Flink): a watermark equal to the
    // record's timestamp must not make that record late
    this.#out.collect(record);
    this.#generator.onEvent(record, ts, this.#wm);
  }

  /** Periodic emission, checked after each batch (and when woken for idleness). */
  endBatch(): void {
    this.onProcessingTime(this.clock());
  }

  onProcessingTime(now: number): void {
    if (this.#interval <= 0 || now - this.#lastEmit < this.#interval) return;
    this.#lastEmit = now;
    this.#generator.onPeriodicEmit(this.#wm);
  }

  /** Upstream watermarks are replaced by this operator's, except the final one (Flink). */
  processWatermark(timestamp: number): void {
    if (timestamp === MAX_WATERMARK) this.#wm.emitWatermark(MAX_WATERMARK);
  }

  endInput(): void {
    this.#wm.emitWatermark(MAX_WATERMARK);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
