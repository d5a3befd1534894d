// reduce on a keyed stream: folds each key's records and emits the running result.
import type { ValueState } from '../backends/types.ts';
import type { OperatorContext, Output, RuntimeContext, StreamOperator } from './operator.ts';

export type ReduceFunction<T> = (accumulated: T, value: T, context: RuntimeContext) => T;

export class ReduceOperator<T> implements StreamOperator<T, T> {
  #out!: Output<T>;
  #ctx!: RuntimeContext;
  #state!: ValueState<T>;
  constructor(readonly fn: ReduceFunction<T>) {}
  open(context: OperatorContext, output: Output<T>): void {
    this.#ctx = context;
    this.#out = output;
    this.#state = context.keyedState!.getState<T>({ kind: 'value', name: '_reduce' });
  }
  processElement(record: T): void {
    const current = this.#state.value();
    const next = current === undefined ? record : this.fn(current, record, this.#ctx);
    this.#state.update(next);
    this.#out.collect(next);
  }
}
