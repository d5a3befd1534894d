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

/** What a process function sees besides the record: its runtime, the current key and its state. */
export interface ProcessContext<K = unknown> extends RuntimeContext {
  readonly currentKey: K;
  getState<T>(descriptor: ValueStateDescriptor<T> | string): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T> | string): ListState<T>;
  getMapState<MK, MV>(descriptor: MapStateDescriptor<MK, MV> | string): MapState<MK, MV>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
}

export type ProcessFunctionFn<IN, OUT, K = unknown> = (value: IN, context: ProcessContext<K>, out: Output<OUT>) => OUT | void;

/** The object form, for functions that set state up once in `open` (Flink's RichFunction). */
export interface ProcessFunctionObject<IN, OUT, K = unknown> {
  open?(context: ProcessContext<K>): void;
  processElement(value: IN, context: ProcessContext<K>, out: Output<OUT>): OUT | void;
  endInput?(out: Output<OUT>): void;
}

export type ProcessFunction<IN, OUT, K = unknown> = ProcessFunctionFn<IN, OUT, K> | ProcessFunctionObject<IN, OUT, K>;

class KeyedProcessContext implements ProcessContext {
  readonly #runtime: OperatorContext;
  readonly #backend: KeyedStateBackend | null;
  readonly #cache = new Map<string, unknown>();

  constructor(runtime: OperatorContext) {
    this.#runtime = runtime;
    this.#backend = runtime.keyedState;
  }

  get jobId() { return this.#runtime.jobId; }
  get taskName() { return this.#runtime.taskName; }
  get operatorUid() { return this.#runtime.operatorUid; }
  get subtaskIndex() { return this.#runtime.subtaskIndex; }
  get parallelism() { return this.#runtime.parallelism; }
  get maxParallelism() { return this.#runtime.maxParallelism; }
  get attemptNumber() { return this.#runtime.attemptNumber; }
  get currentKey(): unknown {
    return this.#backend?.getCurrentKey();
  }

  #keyed(): KeyedStateBackend {
    if (!this.#backend) {
      throw new JobDefinitionError('FLOE_STATE_NOT_KEYED', `operator '${this.#runtime.operatorUid}' uses keyed state but its stream is not keyed`, {
        hint: 'call .keyBy(...) before .process(...)',
      });
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

  open(context: OperatorContext, output: Output<OUT>): void {
    this.#out = output;
    this.#ctx = new KeyedProcessContext(context);
    this.#fn.open?.(this.#ctx as ProcessContext);
  }

  processElement(record: IN): void {
    const result = this.#fn.processElement(record, this.#ctx as ProcessContext, this.#out);
    if (result !== undefined) this.#out.collect(result);
  }

  endInput(): void {
    this.#fn.endInput?.(this.#out);
  }
}
