// The selectors chained behind an operator with side outputs: the main stream drops side-output records, getSideOutput(tag) keeps its own.
import type { OperatorContext, Output, StreamOperator } from './operator.ts';
import { SideOutputRecord } from './output-tag.ts';

export class SideOutputSelector implements StreamOperator<unknown, unknown> {
  #out!: Output<unknown>;
  /** `tag`: the side output kept, or null for the main output */
  constructor(readonly tag: string | null) {}
  open(_context: OperatorContext, output: Output<unknown>): void {
    this.#out = output;
  }
  processElement(record: unknown): void {
    if (record instanceof SideOutputRecord) {
      if (record.tag === this.tag) this.#out.collect(record.value);
    } else if (this.tag === null) {
      this.#out.collect(record);
    }
  }
}
