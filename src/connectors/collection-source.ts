// fromCollection(items): replays an in-memory list; runs at parallelism 1 (the API enforces it).
import type { ListState } from '../backends/types.ts';
import type { OperatorContext, Output, PollResult, Source, SourceReader } from '../operators/operator.ts';

export class CollectionSource<T> implements Source<T> {
  readonly name = 'Collection';
  /** copied so that later changes to the caller's array cannot change what a restarted job replays */
  readonly items: readonly T[];

  constructor(items: Iterable<T>) {
    this.items = [...items];
  }

  createReader(): SourceReader<T> {
    return new CollectionReader(this.items);
  }
}

class CollectionReader<T> implements SourceReader<T> {
  #state!: ListState<number>;
  /** index of the next item to emit; items.length once done */
  #next = 0;

  constructor(readonly items: readonly T[]) {}

  open(context: OperatorContext): void {
    this.#state = context.operatorState.getListState<number>('next-index');
    // the position is always written, so an empty restored list means this source was not in the
    // checkpoint (added to the job since): it starts from the beginning like a fresh one
    const positions = context.restoredCheckpointId === null ? [] : this.#state.get();
    if (positions.length > 0) {
      // one position in practice; were there more (a forced rescale), the furthest wins so no item is emitted twice
      this.#next = Math.max(...positions);
    } else {
      // only subtask 0 reads, so a wrongly parallel source still emits every item once
      this.#next = context.subtaskIndex === 0 ? 0 : this.items.length;
    }
  }

  poll(output: Output<T>, max: number): PollResult {
    const items = this.items;
    const stop = Math.min(items.length, this.#next + max);
    let i = this.#next;
    for (; i < stop; i++) output.collect(items[i] as T);
    this.#next = i;
    return i >= items.length ? 'end' : 'more';
  }

  snapshotState(): void {
    this.#state.update([this.#next]);
  }
}
