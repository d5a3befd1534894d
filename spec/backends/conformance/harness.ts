// What every conformance module gets: a backend factory bound to a test directory, and helpers to write and compare state.
import type { Test } from 'tap';
import { keyGroupRangeForSubtask } from '../../../src/backends/key-groups.ts';
import { readKeyedSnapshot } from '../../../src/backends/keyed-snapshot-reader.ts';
import { keyTag } from '../../../src/backends/level-key-codec.ts';
import type { StateBackendOptions } from '../../../src/backends/state-backend-registry.ts';
import type { KeyedStateBackend, StateBackend, StateBackendFeatures, StateHandle, TaskStateStorage } from '../../../src/backends/types.ts';
import { FileTaskStateStorage } from '../../helpers/file-task-state-storage.ts';

/** A backend under test: its name and how to make its preset with options. */
export interface ConformanceSubject {
  name: string;
  backend: (options: StateBackendOptions) => StateBackend;
}

export interface MakeOptions {
  parallelism?: number;
  subtask?: number;
  maxParallelism?: number;
  incremental?: boolean;
  materializationInterval?: number;
  maxTrackedChanges?: number;
  storage?: TaskStateStorage;
  /** what the task layer says of the run loop (KeyedBackendOptions.runLoopBusy) */
  runLoopBusy?: () => boolean;
}

export interface Harness {
  features: StateBackendFeatures;
  /** one storage per test: every backend made by `make` writes to it unless told otherwise */
  storage: FileTaskStateStorage;
  make(options?: MakeOptions): KeyedStateBackend;
  /** a backend of another preset on the same storage (cross-backend restores) */
  makeOther(subject: ConformanceSubject, options?: MakeOptions): KeyedStateBackend;
}

export function harness(t: Test, subject: ConformanceSubject): Harness {
  const made: KeyedStateBackend[] = [];
  // registered before t.testdir(): tap runs the hook registered last first, and the test directory
  // must outlive the backends (removing it under an open LevelDB fails with ENOTEMPTY)
  t.teardown(async () => {
    for (const b of made) await b.dispose();
  });
  const dir = t.testdir();
  const storage = new FileTaskStateStorage(`${dir}/checkpoints`);
  let n = 0;
  const build = (s: ConformanceSubject, o: MakeOptions = {}) => {
    const p = o.parallelism ?? 1;
    const i = o.subtask ?? 0;
    const max = o.maxParallelism ?? 128;
    const preset = s.backend({
      incremental: o.incremental,
      materializationInterval: o.materializationInterval,
      maxTrackedChanges: o.maxTrackedChanges,
      localDir: `${dir}/local`,
    });
    const b = preset.createKeyedBackend({
      jobId: 'job',
      operatorUid: `op`,
      subtaskIndex: i,
      maxParallelism: max,
      keyGroupRange: keyGroupRangeForSubtask(max, p, i),
      storage: o.storage ?? storage,
      runLoopBusy: o.runLoopBusy,
    });
    n++;
    made.push(b);
    return b;
  };
  return {
    features: subject.backend({}).features,
    storage,
    make: (o) => build(subject, o),
    makeOther: (s, o) => build(s, o),
  };
}

/** Writes `value(k)` into value state `v` for every key, flushing every 512 records as the task does. */
export async function writeValues<T>(b: KeyedStateBackend, keys: Iterable<unknown>, value: (k: any) => T, name = 'v'): Promise<void> {
  const state = b.getState<T>({ kind: 'value', name });
  let n = 0;
  for (const k of keys) {
    b.setCurrentKey(k);
    state.update(value(k));
    if (++n % 512 === 0) await b.endBatch();
  }
  await b.endBatch();
}

/** The state a handle holds, as `state/keyTag -> value` (order-free, comparable with t.same). */
export async function contents(handle: StateHandle | null, storage: TaskStateStorage): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  if (!handle) return out;
  const snap = await readKeyedSnapshot(handle, storage);
  for (const g of snap.groups) {
    for (const [state, entries] of Object.entries(g.entries)) {
      for (const [k, v] of entries)
        out[`${state}/${JSON.stringify(keyTag(k))}`] = snap.states[state] === 'map' ? sortEntries(v as Array<[unknown, unknown]>) : v;
    }
  }
  return out;
}

const sortEntries = (e: Array<[unknown, unknown]>) => [...e].sort((a, b) => (keyTag(a[0]) < keyTag(b[0]) ? -1 : 1));

/** Takes a snapshot and runs its asynchronous part. */
export async function snap(b: KeyedStateBackend, id: number): Promise<StateHandle | null> {
  return b.snapshot(id).run();
}
