// flatMap: one record in, any number out (the function returns an iterable).
import type { OperatorContext, Output, RuntimeContext, StreamOperator } from './operator.ts';

export type FlatMapFunction<IN, OUT> = (value: IN, context: RuntimeContext) => Iterable<OUT> | null | undefined;

export class FlatMapOperator<IN, OUT> implements StreamOperator<IN, OUT> {
  #out!: Output<OUT>;
  #ctx!: RuntimeContext;
  constructor(readonly fn: FlatMapFunction<IN, OUT>) {}
  open(context: OperatorContext, output: Output<OUT>): void {
    this.#ctx = context;
    this.#out = output;
  }
  processElement(record: IN): void {
    const result = this.fn(record, this.#ctx);
    if (result == null) return;
    const out = this.#out;
    // arrays are the common case: index them instead of creating an iterator
    if (Array.isArray(result)) {
      for (let i = 0; i < result.length; i++) out.collect(result[i]);
    } else {
      for (const r of result) out.collect(r);
    }
  }
}
