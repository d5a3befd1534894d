// assignTimestampsAndWatermarks: stamps each record with its event time and generates watermarks (Flink's TimestampsAndWatermarksOperator).
import { UnrecoverableError } from '../errors.ts';
import { MAX_WATERMARK, MIN_WATERMARK, type ElementTimestamp } from './event-time.ts';
import type { OperatorContext, Output, StreamOperator } from './operator.ts';
import type { WatermarkGenerator, WatermarkOutput, WatermarkStrategy } from './watermark-strategy.ts';
import { WatermarkOutputMultiplexer } from './watermark-output-multiplexer.ts';

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

/** The multiplexer's id of the subtask's own generator (records collected without a split). */
const MAIN = '';

export class TimestampsAndWatermarksOperator<T> implements StreamOperator<T, T> {
  #out!: Output<T>;
  #uid = '';
  #timestamp!: ElementTimestamp;
  #generator!: WatermarkGenerator<T>;
  /** where the subtask's generator emits; null while it does not count (a source reader that emits per split) */
  #wm: WatermarkOutput | null = null;
  #interval = 0;
  #lastEmit = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** combines the subtask's generator with the splits' (only rising watermarks go out, as Flink's WatermarkEmitter) */
  protected mux!: WatermarkOutputMultiplexer;

  constructor(
    readonly strategy: WatermarkStrategy<T>,
    readonly clock: () => number = Date.now,
  ) {}

  open(context: OperatorContext, output: Output<T>): void {
    this.#out = output;
    this.#uid = context.operatorUid;
    this.#timestamp = context.elementTimestamp;
    this.mux = new WatermarkOutputMultiplexer({
      emitWatermark: (ts) => output.emitWatermark?.(ts),
      markIdle: () => output.emitWatermarkStatus?.('idle'),
      markActive: () => output.emitWatermarkStatus?.('active'),
    });
    this.#generator = this.strategy.createGenerator(this.clock);
    this.#wm = this.mux.register(MAIN);
    this.#interval = context.autoWatermarkInterval;
    this.#lastEmit = this.clock();
    // idleness is noticed without records: the task is woken each interval to ask the generator
    if (this.strategy.idleTimeout !== null && this.#interval > 0 && context.requestWake) {
      this.#timer = setInterval(context.requestWake, this.#interval);
      this.#timer.unref();
    }
  }

  processElement(record: T): void {
    this.collectWith(record, this.#generator, this.#wm ?? this.countMain(true)!);
  }

  /** Stamps `record`, emits it, then shows it to `generator` (the subtask's or a split's), which emits to `wm`. */
  protected collectWith(record: T, generator: WatermarkGenerator<T>, wm: WatermarkOutput): void {
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
    generator.onEvent(record, ts, wm);
  }

  /**
   * Whether the subtask's own generator counts in the combined watermark: it does unless the reader
   * emits per split (a generator that never sees a record would hold the splits' watermark at the minimum).
   */
  protected countMain(counts: boolean): WatermarkOutput | null {
    if (counts && !this.#wm) this.#wm = this.mux.register(MAIN);
    if (!counts && this.#wm) {
      this.#wm = null;
      this.mux.unregister(MAIN);
    }
    return this.#wm;
  }

  /** Periodic emission, checked after each batch (and when woken for idleness). */
  endBatch(): void {
    this.onProcessingTime(this.clock());
  }

  onProcessingTime(now: number): void {
    if (this.#interval <= 0 || now - this.#lastEmit < this.#interval) return;
    this.#lastEmit = now;
    this.mux.periodic(() => this.periodicEmit());
  }

  /** Asks every generator for its periodic watermark. */
  protected periodicEmit(): void {
    if (this.#wm) this.#generator.onPeriodicEmit(this.#wm);
  }

  /** Upstream watermarks are replaced by this operator's, except the final one (Flink). */
  processWatermark(timestamp: number): void {
    if (timestamp === MAX_WATERMARK) this.mux.emitCombined(MAX_WATERMARK);
  }

  endInput(): void {
    this.mux.emitCombined(MAX_WATERMARK);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
