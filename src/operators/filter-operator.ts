// filter: keeps the records the predicate accepts.
import type { OperatorContext, Output, RuntimeContext, StreamOperator } from './operator.ts';

export type FilterFunction<T> = (value: T, context: RuntimeContext) => boolean;

export class FilterOperator<T> implements StreamOperator<T, T> {
  #out!: Output<T>;
  #ctx!: RuntimeContext;
  constructor(readonly fn: FilterFunction<T>) {}
  open(context: OperatorContext, output: Output<T>): void {
    this.#ctx = context;
    this.#out = output;
  }
  processElement(record: T): void {
    if (this.fn(record, this.#ctx)) this.#out.collect(record);
  }
}
