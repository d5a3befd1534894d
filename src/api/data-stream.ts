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
      throw new JobDefinitionError('FLOE_PARALLELISM_FIXED', `'${this.transformation.name}' runs with parallelism ${this.transformation.fixedParallelism} only`, {
        hint: 'use fromSequence or readTextFile for a parallel source',
      });
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

  process<R>(fn: ProcessFunction<T, R>): DataStream<R> {
    return this.transform('Process', () => new ProcessOperator<T, R>(fn));
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

export class KeyedStream<T, K> extends DataStream<T> {
  /** Folds each key's records, emitting the running result on every record. */
  reduce(fn: ReduceFunction<T>): DataStream<T> {
    return this.transform('Reduce', () => new ReduceOperator(fn));
  }

  override process<R>(fn: ProcessFunction<T, R, K>): DataStream<R> {
    return this.transform('KeyedProcess', () => new ProcessOperator<T, R>(fn as ProcessFunction<T, R>));
  }
}
