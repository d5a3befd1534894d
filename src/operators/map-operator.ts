// map: one record in, one record out.
import type { OperatorContext, Output, RuntimeContext, StreamOperator } from './operator.ts';

export type MapFunction<IN, OUT> = (value: IN, context: RuntimeContext) => OUT;

export class MapOperator<IN, OUT> implements StreamOperator<IN, OUT> {
  #out!: Output<OUT>;
  #ctx!: RuntimeContext;
  constructor(readonly fn: MapFunction<IN, OUT>) {}
  open(context: OperatorContext, output: Output<OUT>): void {
    this.#ctx = context;
    this.#out = output;
  }
  processElement(record: IN): void {
    this.#out.collect(this.fn(record, this.#ctx));
  }
}
