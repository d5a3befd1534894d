// fromSequence(from, to): the integers from..to inclusive, as contiguous ranges spread over subtasks.
import type { ListState } from '../backends/types.ts';
import type { OperatorContext, Output, PollResult, Source, SourceReader } from '../operators/operator.ts';

/** One contiguous range still to emit: `next..end` inclusive (done when next > end). */
export interface SequenceSplit {
  next: number;
  end: number;
}

export class SequenceSource implements Source<number> {
  readonly name: string;

  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
      throw new TypeError(`fromSequence needs safe integers, got ${from} and ${to}`);
    }
    this.name = `Sequence(${from}, ${to})`;
  }

  createReader(): SourceReader<number> {
    return new SequenceReader(this.from, this.to);
  }
}

/**
 * Split i of p gets the i-th of p near-equal contiguous ranges (empty ranges are left out, so a
 * subtask beyond the length of a short sequence gets nothing and ends at once).
 */
export function sequenceSplits(from: number, to: number, subtaskIndex: number, parallelism: number): SequenceSplit[] {
  const count = to - from + 1;
  if (count <= 0) return [];
  const start = from + Math.floor((subtaskIndex * count) / parallelism);
  const end = from + Math.floor(((subtaskIndex + 1) * count) / parallelism) - 1;
  return start <= end ? [{ next: start, end }] : [];
}

class SequenceReader implements SourceReader<number> {
  #state!: ListState<SequenceSplit>;
  /** splits not yet finished, in reading order; the first one is being read */
  #splits: SequenceSplit[] = [];

  constructor(
    readonly from: number,
    readonly to: number,
  ) {}

  open(context: OperatorContext): void {
    // split state: on a rescaled restore the unfinished ranges are redistributed among the new subtasks
    this.#state = context.operatorState.getListState<SequenceSplit>('splits');
    this.#splits =
      context.restoredCheckpointId === null
        ? sequenceSplits(this.from, this.to, context.subtaskIndex, context.parallelism)
        : this.#state.get().map((s) => ({ next: s.next, end: s.end }));
  }

  poll(output: Output<number>, max: number): PollResult {
    let budget = max;
    while (budget > 0) {
      const split = this.#splits[0];
      if (!split) return 'end';
      const stop = Math.min(split.end, split.next + budget - 1);
      let n = split.next;
      for (; n <= stop; n++) output.collect(n);
      budget -= n - split.next;
      split.next = n;
      if (n > split.end) this.#splits.shift();
    }
    return this.#splits.length === 0 ? 'end' : 'more';
  }

  snapshotState(): void {
    this.#state.update(this.#splits.map((s) => ({ next: s.next, end: s.end })));
  }
}
