// CollectSink: gathers results into an array, exactly once across restarts (two-phase commit in memory).
import { randomUUID } from 'node:crypto';
import type { ListState } from '../backends/types.ts';
import type { OperatorContext, Sink, StreamOperator } from '../operators/operator.ts';

/** The records one subtask received between two checkpoints, waiting for the later one to complete. */
export interface CollectTransaction<T> {
  /** unique across writers, attempts and processes: commits are remembered by it */
  id: string;
  checkpointId: number;
  records: T[];
}

export class CollectSink<T> implements Sink<T> {
  readonly name = 'Collect';
  /**
   * Transactions already pushed to `target`. The sink object outlives the writers of a failed attempt,
   * so a restore that commits the restored checkpoint again (the old attempt may have committed it
   * before failing) does not push its records twice.
   */
  readonly #committed = new Set<string>();

  constructor(readonly target: T[]) {
    if (!Array.isArray(target)) throw new TypeError('CollectSink needs an array to collect into');
  }

  createWriter(): StreamOperator<T, never> {
    return new CollectWriter<T>(this);
  }

  /** Pushes a transaction's records to target unless that was done already. */
  commit(txn: CollectTransaction<T>): void {
    if (this.#committed.has(txn.id)) return;
    this.#committed.add(txn.id);
    const target = this.target;
    for (const record of txn.records) target.push(record);
  }
}

class CollectWriter<T> implements StreamOperator<T, never> {
  #state!: ListState<CollectTransaction<T>>;
  #checkpointing = false;
  /** records since the last checkpoint: not yet part of any transaction */
  #current: T[] = [];
  /** pre-committed: in a checkpoint that has not completed yet */
  #pending: CollectTransaction<T>[] = [];

  constructor(readonly sink: CollectSink<T>) {}

  open(context: OperatorContext): void {
    this.#checkpointing = context.checkpointingEnabled;
    this.#state = context.operatorState.getListState<CollectTransaction<T>>('pending');
    if (context.restoredCheckpointId !== null) {
      // pending in the restored snapshot means pre-committed at or before a checkpoint that completed
      for (const txn of this.#state.get()) this.sink.commit(txn);
    }
    this.#state.clear();
  }

  processElement(record: T): void {
    this.#current.push(record);
  }

  snapshotState(checkpointId: number): void {
    if (this.#current.length > 0) {
      this.#pending.push({ id: randomUUID(), checkpointId, records: this.#current });
      this.#current = [];
    }
    this.#state.update(this.#pending);
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const still: CollectTransaction<T>[] = [];
    for (const txn of this.#pending) {
      if (txn.checkpointId <= checkpointId) this.sink.commit(txn);
      else still.push(txn);
    }
    this.#pending = still;
  }

  endInput(): void {
    // without checkpoints nothing will complete: what was received is final now
    if (this.#checkpointing) return;
    // including what a savepoint pre-committed (aborted, or not yet complete: the sink commits a transaction id once)
    for (const txn of this.#pending) this.sink.commit(txn);
    this.#pending = [];
    this.sink.commit({ id: randomUUID(), checkpointId: 0, records: this.#current });
    this.#current = [];
  }

  close(): void {
    // uncommitted records are aborted; a restore replays them from the sources
    this.#current = [];
  }
}
