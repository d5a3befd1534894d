// WindowedStream (Flink's): a keyed stream cut into windows, with allowed lateness, a late-data side output and a window function.
import type { TransformationRegistry } from './data-stream.ts';
import { SingleOutputStreamOperator } from './data-stream.ts';
import type { KeySelector, Transformation } from '../graph/transformation.ts';
import { durationOf } from '../operators/event-time.ts';
import type { OutputTag } from '../operators/output-tag.ts';
import type { WindowAssigner } from '../operators/window-assigners.ts';
import { WindowOperator, type ProcessWindowFunction, type WindowAggregateFunction, type WindowFunctionSpec } from '../operators/window-operator.ts';

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
    if (!assigner || typeof assigner.assignWindows !== 'function') throw new TypeError('window needs a window assigner, e.g. TumblingEventTimeWindows.of("1 min")');
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
    const settings = { assigner: this.assigner, allowedLateness: this.#allowedLateness, lateDataTag: this.#lateDataTag as OutputTag<unknown> | null, fn };
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
