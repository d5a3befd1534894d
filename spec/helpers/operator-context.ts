// Test doubles for operator specs: a fake OperatorContext and "snapshot, then restore into fresh subtasks".
import { OperatorStateStore } from '../../src/backends/operator-state-store.ts';
import type { OperatorStateSnapshot } from '../../src/backends/types.ts';
import type { OperatorContext, Output } from '../../src/operators/operator.ts';

export interface ContextOptions {
  subtaskIndex?: number;
  parallelism?: number;
  restoredCheckpointId?: number | null;
  checkpointingEnabled?: boolean;
  attemptNumber?: number;
  operatorState?: OperatorStateStore;
}

export function operatorContext(options: ContextOptions = {}): OperatorContext {
  return {
    jobId: 'spec-job',
    taskName: 'spec-task',
    operatorUid: 'spec-operator',
    subtaskIndex: options.subtaskIndex ?? 0,
    parallelism: options.parallelism ?? 1,
    maxParallelism: 128,
    attemptNumber: options.attemptNumber ?? 0,
    keyedState: null,
    operatorState: options.operatorState ?? new OperatorStateStore(),
    restoredCheckpointId: options.restoredCheckpointId ?? null,
    checkpointingEnabled: options.checkpointingEnabled ?? true,
    elementTimestamp: { current: undefined },
    autoWatermarkInterval: 200,
  };
}

/** Contexts for `parallelism` fresh subtasks (subtask i at index i). */
export function freshContexts(parallelism: number, options: ContextOptions = {}): OperatorContext[] {
  return Array.from({ length: parallelism }, (_, i) => operatorContext({ ...options, subtaskIndex: i, parallelism }));
}

/**
 * What the runtime does after a failure or a rescale: each old subtask's operator state is
 * snapshotted (`snapshots`, one per old subtask, in order), and every new subtask gets a new store
 * restored from all of them for its index. Returns the new subtasks' contexts.
 */
export function restoredContexts(
  snapshots: OperatorStateSnapshot[],
  parallelism: number,
  checkpointId: number,
  options: ContextOptions = {},
): OperatorContext[] {
  return Array.from({ length: parallelism }, (_, i) => {
    const store = new OperatorStateStore();
    store.restore(snapshots, i, parallelism);
    return operatorContext({
      attemptNumber: 1,
      ...options,
      subtaskIndex: i,
      parallelism,
      restoredCheckpointId: checkpointId,
      operatorState: store,
    });
  });
}

/** Snapshots the operator state of each context (after the operators' snapshotState ran). */
export function snapshotAll(contexts: OperatorContext[]): OperatorStateSnapshot[] {
  return contexts.map((c) => c.operatorState.snapshot());
}

/** An Output that records what it is given. */
export function collector<T>(): Output<T> & { records: T[] } {
  const records: T[] = [];
  return { records, collect: (r: T) => void records.push(r) };
}
