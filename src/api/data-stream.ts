// DataStream: the fluent API that records transformations (map, flatMap, keyBy, ..., sinks).
import { JobDefinitionError } from '../errors.ts';
import type { KeySelector, Partitioning, Transformation } from '../graph/transformation.ts';
import { FilterOperator, type FilterFunction } from '../operators/filter-operator.ts';
import { FlatMapOperator, type FlatMapFunction } from '../operators/flat-map-operator.ts';
import { MapOperator, type MapFunction } from '../operators/map-operator.ts';
import type { Sink, StreamOperator } from '../operators/operator.ts';
import { ProcessOperator, type ProcessFunction } from '../operators/process-operator.ts';
import { ReduceOperator, type ReduceFunction } from '../operators/reduce-operator.ts';
import { PrintSink } from '../connectors/print-sink.ts';
import type { OutputTag } from '../operators/output-tag.ts';
import { TimestampsAndWatermarksOperator } from '../operators/timestamps-and-watermarks-operator.ts';
import type { WatermarkStrategy } from '../operators/watermark-strategy.ts';
import type { WindowAssigner } from '../operators/window-assigners.ts';
import { durationOf } from '../operators/event-time.ts';
import {
  WindowOperator,
  type ProcessWindowFunction,
  type WindowAggregateFunction,
  type WindowFunctionSpec,
} from '../operators/window-operator.ts';

/** Where transformations are recorded (the environment). */
export interface TransformationRegistry {
  add(t: Omit<Transformation, 'id'>): Transformation;
}

function checkParallelism(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`parallelism must be a positive integer, got ${n}`);
  return n;
}

/** Settings shared by streams and sinks: uid, name, parallelism of the last transformation. */
abstract class Configurable {
  constructor(readonly transformation: Transformation) {}

  /** A stable id: state in checkpoints and savepoints is matched to operators by uid. */
  uid(uid: string): this {
    if (typeof uid !== 'string' || uid.length === 0) throw new TypeError('uid must be a non-empty string');
    this.transformation.uid = uid;
    return this;
  }

  name(name: string): this {
    this.transformation.name = name;
    return this;
  }

  setParallelism(parallelism: number): this {
    if (this.transformation.fixedParallelism !== undefined && parallelism !== this.transformation.fixedParallelism) {
      throw new JobDefinitionError(
        'FLOE_PARALLELISM_FIXED',
        `'${this.transformation.name}' runs with parallelism ${this.transformation.fixedParallelism} only`,
        {
          hint: 'use fromSequence or readTextFile for a parallel source',
        },
      );
    }
    this.transformation.parallelism = checkParallelism(parallelism);
    return this;
  }
}

export class DataStreamSink extends Configurable {}

export class DataStream<T> extends Configurable {
  constructor(
    readonly registry: TransformationRegistry,
    transformation: Transformation,
    /** how the next operator reads this stream; hash after keyBy */
    protected readonly partitioning?: Partitioning,
  ) {
    super(transformation);
  }

  protected get keySelector(): KeySelector | undefined {
    return this.partitioning?.type === 'hash' ? this.partitioning.keySelector : undefined;
  }

  /** Adds a one-input operator reading this stream. */
  transform<R>(name: string, createOperator: () => StreamOperator<T, R>): DataStream<R> {
    const t = this.registry.add({
      kind: 'operator',
      name,
      input: { transformation: this.transformation, partitioning: this.partitioning },
      keySelector: this.keySelector,
      createOperator,
    });
    return new DataStream<R>(this.registry, t);
  }

  map<R>(fn: MapFunction<T, R>): DataStream<R> {
    return this.transform('Map', () => new MapOperator(fn));
  }

  flatMap<R>(fn: FlatMapFunction<T, R>): DataStream<R> {
    return this.transform('FlatMap', () => new FlatMapOperator(fn));
  }

  filter(fn: FilterFunction<T>): DataStream<T> {
    return this.transform('Filter', () => new FilterOperator(fn));
  }

  /** A process function: emits any number of records per input, and side outputs with `ctx.output(tag, value)`. */
  process<R>(fn: ProcessFunction<T, R>): SingleOutputStreamOperator<R> {
    return new SingleOutputStreamOperator<R>(this.registry, this.transform('Process', () => new ProcessOperator<T, R>(fn)).transformation);
  }

  /**
   * Merges this stream with others of the same type into one (Flink's union): the next operator
   * reads every input, and its barrier handler aligns them all. Tag records first to tell them apart.
   */
  union(...others: DataStream<T>[]): DataStream<T> {
    if (others.length === 0) throw new TypeError('union needs at least one other stream');
    const t = this.registry.add({
      kind: 'operator',
      name: 'Union',
      input: { transformation: this.transformation, partitioning: this.partitioning },
      extraInputs: others.map((o) => ({ transformation: o.transformation, partitioning: o.partitioning })),
      createOperator: () => new MapOperator((x: T) => x),
    });
    return new DataStream<T>(this.registry, t);
  }

  /**
   * Gives each record its event timestamp and generates watermarks from them (Flink's
   * assignTimestampsAndWatermarks); timestamps assigned upstream are replaced.
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): DataStream<T> {
    if (!strategy || typeof strategy.createGenerator !== 'function')
      throw new TypeError('assignTimestampsAndWatermarks needs a WatermarkStrategy, e.g. WatermarkStrategy.forBoundedOutOfOrderness("2s")');
    return this.transform('Timestamps/Watermarks', () => new TimestampsAndWatermarksOperator<T>(strategy));
  }

  /** Partitions by key: records with equal keys go to the same subtask, which keeps their state. */
  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<T, K> {
    if (typeof keySelector !== 'function') throw new TypeError('keyBy needs a function that returns the key of a record');
    return new KeyedStream<T, K>(this.registry, this.transformation, { type: 'hash', keySelector });
  }

  /** Distributes records round-robin to the next operator's subtasks. */
  rebalance(): DataStream<T> {
    return new DataStream<T>(this.registry, this.transformation, { type: 'rebalance' });
  }

  /** Sends every record to every subtask of the next operator. */
  broadcast(): DataStream<T> {
    return new DataStream<T>(this.registry, this.transformation, { type: 'broadcast' });
  }

  sinkTo(sink: Sink<T>): DataStreamSink {
    if (!sink || typeof sink.createWriter !== 'function') throw new TypeError('sinkTo needs a sink, e.g. new FileSink(dir)');
    const t = this.registry.add({
      kind: 'sink',
      name: sink.name,
      input: { transformation: this.transformation, partitioning: this.partitioning },
      keySelector: this.keySelector,
      sink: sink as Sink<unknown>,
    });
    return new DataStreamSink(t);
  }

  /** Prints every record to stdout (at-least-once; for trying things out). */
  print(prefix?: string): DataStreamSink {
    return this.sinkTo(new PrintSink<T>(prefix));
  }
}

/**
 * The stream of an operator that may emit side outputs (Flink's SingleOutputStreamOperator). The
 * operator's output routes records by tag: its main output goes to the operators reading this
 * stream, `getSideOutput(tag)` is a stream of the records it emitted to `tag`. Both are virtual
 * selections (no operator runs for them; the job graph turns them into edges or chain links that
 * carry the tag). uid, name and parallelism apply to the operator itself.
 */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  readonly operatorTransformation: Transformation;
  readonly #selectors: Transformation[] = [];

  constructor(registry: TransformationRegistry, operator: Transformation) {
    // the names (and the uid below) are those of the selector operators this replaced: generated uids stay the same
    const main = registry.add({
      kind: 'operator',
      name: `${operator.name} (main output)`,
      input: { transformation: operator },
      parallelism: operator.parallelism,
      selectsOutput: { tag: null },
    });
    super(registry, main);
    this.operatorTransformation = operator;
    this.#selectors.push(main);
  }

  override uid(uid: string): this {
    super.uid(`${uid}/main-output`);
    this.operatorTransformation.uid = uid;
    return this;
  }

  override name(name: string): this {
    this.operatorTransformation.name = name;
    return this;
  }

  override setParallelism(parallelism: number): this {
    super.setParallelism(parallelism);
    for (const t of [this.operatorTransformation, ...this.#selectors]) t.parallelism = parallelism;
    return this;
  }

  /** The records the operator emitted to `tag` (late data of a window, `ctx.output(tag, v)`). */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    if (!tag || typeof tag.id !== 'string') throw new TypeError('getSideOutput needs an OutputTag');
    const op = this.operatorTransformation;
    const t = this.registry.add({
      kind: 'operator',
      name: `${op.name} (side output '${tag.id}')`,
      input: { transformation: op },
      parallelism: op.parallelism,
      selectsOutput: { tag: tag.id },
    });
    if (op.uid !== undefined) t.uid = `${op.uid}/side-output/${tag.id}`;
    this.#selectors.push(t);
    return new DataStream<X>(this.registry, t);
  }
}

export class KeyedStream<T, K> extends DataStream<T> {
  /** Cuts each key's records into windows (Flink's WindowedStream). */
  window(assigner: WindowAssigner): WindowedStream<T, K> {
    return new WindowedStream<T, K>(this.registry, this.transformation, this.keySelector as KeySelector<T, K>, assigner);
  }

  /** Folds each key's records, emitting the running result on every record. */
  reduce(fn: ReduceFunction<T>): DataStream<T> {
    return this.transform('Reduce', () => new ReduceOperator(fn));
  }

  override process<R>(fn: ProcessFunction<T, R, K>): SingleOutputStreamOperator<R> {
    return new SingleOutputStreamOperator<R>(
      this.registry,
      this.transform('KeyedProcess', () => new ProcessOperator<T, R>(fn as ProcessFunction<T, R>)).transformation,
    );
  }
}

export class WindowedStream<T, K> {
  #allowedLateness = 0;
  #lateDataTag: OutputTag<T> | null = null;
  readonly #keySelector: KeySelector;

  constructor(
    readonly registry: TransformationRegistry,
    readonly input: Transformation,
    keySelector: KeySelector<T, K>,
    readonly assigner: WindowAssigner,
  ) {
    this.#keySelector = keySelector as KeySelector;
    if (!assigner || typeof assigner.assignWindows !== 'function')
      throw new TypeError('window needs a window assigner, e.g. TumblingEventTimeWindows.of("1 min")');
  }

  /** How long after a window's end (in event time) late records still update it; 0 by default. */
  allowedLateness(lateness: string | number): this {
    this.#allowedLateness = durationOf(lateness, 'allowedLateness', { allowZero: true });
    return this;
  }

  /** Records too late for every window they belong to go to this side output instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): this {
    if (!tag || typeof tag.id !== 'string') throw new TypeError('sideOutputLateData needs an OutputTag');
    this.#lateDataTag = tag;
    return this;
  }

  /** Folds each window's records into one, emitted when the window fires. */
  reduce(fn: (a: T, b: T) => T): SingleOutputStreamOperator<T> {
    if (typeof fn !== 'function') throw new TypeError('reduce needs a function (a, b) => combined');
    return this.#build('Window(Reduce)', { kind: 'reduce', reduce: fn });
  }

  /** Aggregates each window incrementally: createAccumulator, add, getResult (and merge for session windows). */
  aggregate<ACC, R>(fn: WindowAggregateFunction<T, ACC, R>): SingleOutputStreamOperator<R> {
    if (!fn || typeof fn.add !== 'function' || typeof fn.createAccumulator !== 'function' || typeof fn.getResult !== 'function') {
      throw new TypeError('aggregate needs { createAccumulator, add, getResult, merge? }');
    }
    return this.#build('Window(Aggregate)', { kind: 'aggregate', aggregate: fn });
  }

  /** Sees every record of a window when it fires: (key, context, elements, out). */
  process<R>(fn: ProcessWindowFunction<T, R, K>): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function') throw new TypeError('process needs a function (key, context, elements, out) => void');
    return this.#build('Window(Process)', { kind: 'process', process: fn });
  }

  #build<R>(name: string, fn: WindowFunctionSpec): SingleOutputStreamOperator<R> {
    const settings = {
      assigner: this.assigner,
      allowedLateness: this.#allowedLateness,
      lateDataTag: this.#lateDataTag as OutputTag<unknown> | null,
      fn,
    };
    const t = this.registry.add({
      kind: 'operator',
      name,
      input: { transformation: this.input, partitioning: { type: 'hash', keySelector: this.#keySelector } },
      keySelector: this.#keySelector,
      createOperator: () => new WindowOperator(settings),
    });
    return new SingleOutputStreamOperator<R>(this.registry, t);
  }
}
