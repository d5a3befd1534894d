// process: a user function with access to keyed state, emitting through `out` or by returning a record.
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  KeyedStateBackend,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  ValueState,
  ValueStateDescriptor,
} from '../backends/types.ts';
import { JobDefinitionError } from '../errors.ts';
import type { OperatorContext, Output, RuntimeContext, StreamOperator } from './operator.ts';
import { InternalTimerService, type TimeDomain, type TimerService } from './internal-timer-service.ts';
import type { OutputTag } from './output-tag.ts';
import { MIN_WATERMARK } from './event-time.ts';

/** What a process function sees besides the record: its runtime, the current key and its state. */
export interface ProcessContext<K = unknown> extends RuntimeContext {
  readonly currentKey: K;
  getState<T>(descriptor: ValueStateDescriptor<T> | string): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T> | string): ListState<T>;
  getMapState<MK, MV>(descriptor: MapStateDescriptor<MK, MV> | string): MapState<MK, MV>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  /** the event timestamp of the record in hand (of the timer in onTimer), undefined when it has none */
  readonly timestamp: number | undefined;
  /** in onTimer: which kind of timer fired */
  readonly timeDomain: TimeDomain | undefined;
  /** read the watermark and the clock; register and delete timers on keyed streams whose function has onTimer */
  timerService(): TimerService;
  /** emits `value` to the side output `tag` (read it with `getSideOutput(tag)` on the process's result), with the timestamp in hand */
  output<X>(tag: OutputTag<X>, value: X): void;
}

export type ProcessFunctionFn<IN, OUT, K = unknown> = (value: IN, context: ProcessContext<K>, out: Output<OUT>) => OUT | void;

/** T where TypeScript must not infer T from it (the classic form of NoInfer, which older TypeScript lacks). */
type NotInferred<T> = [T][T extends unknown ? 0 : never];

/** The object form, for functions that set state up once in `open` (Flink's RichFunction). */
export interface ProcessFunctionObject<IN, OUT, K = unknown> {
  open?(context: ProcessContext<K>): void;
  /**
   * Its return type does not decide OUT (a processElement that only registers timers returns nothing, and
   * `onTimer`'s `out.collect(...)` must still type-check): OUT comes from `out`'s use, `.process<OUT>(...)`, or is unknown.
   */
  processElement(value: IN, context: ProcessContext<K>, out: Output<OUT>): NotInferred<OUT> | void;
  /** a timer registered through `context.timerService()` fired (under its key) */
  onTimer?(timestamp: number, context: ProcessContext<K>, out: Output<OUT>): void;
  endInput?(out: Output<OUT>): void;
}

export type ProcessFunction<IN, OUT, K = unknown> = ProcessFunctionFn<IN, OUT, K> | ProcessFunctionObject<IN, OUT, K>;

class KeyedProcessContext implements ProcessContext {
  readonly #runtime: OperatorContext;
  readonly #backend: KeyedStateBackend | null;
  readonly #cache = new Map<string, unknown>();
  timers: InternalTimerService | null = null;
  /** the operator's output: side-output records travel on it to the selectors behind the operator */
  out!: Output<unknown>;
  /** set while onTimer runs */
  timeDomain: TimeDomain | undefined = undefined;
  firingTimestamp: number | undefined = undefined;
  /** the operator's event time when it has no timer service of its own */
  watermark = MIN_WATERMARK;
  #clockOnly: TimerService | undefined;

  constructor(runtime: OperatorContext) {
    this.#runtime = runtime;
    this.#backend = runtime.keyedState;
  }

  get timestamp(): number | undefined {
    return this.timeDomain !== undefined ? this.firingTimestamp : this.#runtime.elementTimestamp.current;
  }

  timerService(): TimerService {
    if (this.timers) return this.timers;
    // without timers the clock and the watermark can still be read (as Flink's ProcessFunction); only
    // registering or deleting a timer is refused, with the reason
    return (this.#clockOnly ??= {
      currentProcessingTime: () => Date.now(),
      currentWatermark: () => this.watermark,
      registerEventTimeTimer: () => this.#noTimers(),
      deleteEventTimeTimer: () => this.#noTimers(),
      registerProcessingTimeTimer: () => this.#noTimers(),
      deleteProcessingTimeTimer: () => this.#noTimers(),
    });
  }

  #noTimers(): never {
    if (!this.#backend) {
      throw new JobDefinitionError(
        'FLOE_TIMER_NOT_KEYED',
        `operator '${this.#runtime.operatorUid}' uses timers but its stream is not keyed: timers belong to a key`,
        {
          hint: 'call .keyBy(...) before .process(...)',
        },
      );
    }
    throw new JobDefinitionError(
      'FLOE_TIMER_NO_ONTIMER',
      `operator '${this.#runtime.operatorUid}' registers timers but its process function has no onTimer`,
      {
        hint: 'give the function as an object { processElement(value, ctx, out), onTimer(timestamp, ctx, out) }',
      },
    );
  }

  output<X>(tag: OutputTag<X>, value: X): void {
    if (!tag || typeof tag.id !== 'string') throw new TypeError('ctx.output needs an OutputTag, e.g. new OutputTag<T>("late")');
    this.out.sideOutput?.(tag.id, value);
  }

  get jobId() {
    return this.#runtime.jobId;
  }
  get taskName() {
    return this.#runtime.taskName;
  }
  get operatorUid() {
    return this.#runtime.operatorUid;
  }
  get subtaskIndex() {
    return this.#runtime.subtaskIndex;
  }
  get parallelism() {
    return this.#runtime.parallelism;
  }
  get maxParallelism() {
    return this.#runtime.maxParallelism;
  }
  get attemptNumber() {
    return this.#runtime.attemptNumber;
  }
  get currentKey(): unknown {
    return this.#backend?.getCurrentKey();
  }

  #keyed(): KeyedStateBackend {
    if (!this.#backend) {
      throw new JobDefinitionError(
        'FLOE_STATE_NOT_KEYED',
        `operator '${this.#runtime.operatorUid}' uses keyed state but its stream is not keyed`,
        {
          hint: 'call .keyBy(...) before .process(...)',
        },
      );
    }
    return this.#backend;
  }

  // accessor objects are cached per name: a process function may ask for its state on every record
  #get<S>(name: string, make: (b: KeyedStateBackend) => S): S {
    let s = this.#cache.get(name) as S | undefined;
    if (s === undefined) {
      s = make(this.#keyed());
      this.#cache.set(name, s);
    }
    return s;
  }

  getState<T>(d: ValueStateDescriptor<T> | string): ValueState<T> {
    const desc: ValueStateDescriptor<T> = typeof d === 'string' ? { kind: 'value', name: d } : d;
    return this.#get(desc.name, (b) => b.getState(desc));
  }
  getListState<T>(d: ListStateDescriptor<T> | string): ListState<T> {
    const desc: ListStateDescriptor<T> = typeof d === 'string' ? { kind: 'list', name: d } : d;
    return this.#get(desc.name, (b) => b.getListState(desc));
  }
  getMapState<MK, MV>(d: MapStateDescriptor<MK, MV> | string): MapState<MK, MV> {
    const desc: MapStateDescriptor<MK, MV> = typeof d === 'string' ? { kind: 'map', name: d } : d;
    return this.#get(desc.name, (b) => b.getMapState(desc));
  }
  getReducingState<T>(d: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.#get(d.name, (b) => b.getReducingState(d));
  }
  getAggregatingState<IN, ACC, OUT>(d: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    return this.#get(d.name, (b) => b.getAggregatingState(d));
  }
}

export class ProcessOperator<IN, OUT> implements StreamOperator<IN, OUT> {
  #out!: Output<OUT>;
  #ctx!: KeyedProcessContext;
  readonly #fn: ProcessFunctionObject<IN, OUT>;

  constructor(fn: ProcessFunction<IN, OUT>) {
    this.#fn = typeof fn === 'function' ? { processElement: fn } : fn;
  }

  /** fires the function's timers, or keeps the watermark for ctx.timerService().currentWatermark() */
  processWatermark?: (timestamp: number) => void;
  onProcessingTime?: (now: number) => void;

  open(context: OperatorContext, output: Output<OUT>): void {
    this.#out = output;
    const ctx = (this.#ctx = new KeyedProcessContext(context));
    ctx.out = output as Output<unknown>;
    const onTimer = this.#fn.onTimer;
    if (onTimer && context.keyedState) {
      const fire = (domain: TimeDomain) => (ts: number) => {
        ctx.timeDomain = domain;
        ctx.firingTimestamp = ts;
        const saved = context.elementTimestamp.current;
        // what onTimer emits carries the timer's time (Flink)
        context.elementTimestamp.current = domain === 'event' ? ts : saved;
        try {
          onTimer.call(this.#fn, ts, ctx as ProcessContext, output);
        } finally {
          ctx.timeDomain = undefined;
          context.elementTimestamp.current = saved;
        }
      };
      const timers = new InternalTimerService(
        'user-timers',
        context.keyedState,
        { onEventTime: fire('event'), onProcessingTime: fire('processing') },
        Date.now,
        context.requestWake,
      );
      ctx.timers = timers;
      timers.restore();
      this.processWatermark = (ts) => {
        const firing = timers.advanceWatermark(ts);
        // timers firing after reads of the backend (level): the watermark goes on after them
        if (firing) timers.after(firing, () => output.emitWatermark?.(ts));
        else output.emitWatermark?.(ts);
      };
      this.onProcessingTime = (now) => {
        const firing = timers.onProcessingTime(now);
        if (firing) timers.after(firing);
      };
    } else {
      this.processWatermark = (ts) => {
        ctx.watermark = ts;
        output.emitWatermark?.(ts);
      };
    }
    this.#fn.open?.(ctx as ProcessContext);
  }

  /** Timers still firing (level): the task reads no more input until they are done. */
  endBatch(): Promise<void> | undefined {
    return this.#ctx?.timers?.pending;
  }

  /** The function's timers go into keyed state before it is captured. */
  snapshotState(): void {
    this.#ctx?.timers?.flush();
  }

  close(): void {
    this.#ctx?.timers?.dispose();
  }

  processElement(record: IN): void {
    const result = this.#fn.processElement(record, this.#ctx as ProcessContext, this.#out);
    if (result !== undefined) this.#out.collect(result);
  }

  endInput(): void {
    this.#fn.endInput?.(this.#out);
  }
}
