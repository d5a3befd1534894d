// Keyed state on the JS heap, per key group, with copy-on-write snapshots (memory and fs presets).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CheckpointError } from '../errors.ts';
import { IncrementalSnapshots, type IncrementalOptions, type SnapshotPlan } from './incremental-snapshots.ts';
import { assignToKeyGroup } from './key-groups.ts';
import { forEachSnapshotPart, lookupKey } from './keyed-snapshot-reader.ts';
import { CHUNK_ENTRIES, type EntryChunk, type SnapshotChunk } from './snapshot-codec.ts';
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  KeyedBackendOptions,
  KeyedStateBackend,
  KeyGroupRange,
  ListState,
  ListStateDescriptor,
  MapState,
  MapStateDescriptor,
  ReducingState,
  ReducingStateDescriptor,
  SnapshotRunner,
  StateDescriptor,
  StateHandle,
  StateKind,
  ValueState,
  ValueStateDescriptor,
} from './types.ts';

/**
 * A value whose key the map key does not give back: an object key (looked up by its canonical
 * string) or -0 (a Map key of -0 is +0). Every other key is its own lookup key, and its value is
 * stored in the map as it is: no object per key (48 bytes each, and a pointer to chase per key in
 * a snapshot). Never changed once made: a snapshot may hold it.
 */
class KeyedValue {
  constructor(readonly key: unknown, readonly value: unknown) {}
}

/** lookup key -> the value, or a KeyedValue for keys the lookup key does not give back */
type Group = Map<unknown, unknown>;

const needsKey = (key: unknown): boolean => (key !== null && typeof key === 'object') || Object.is(key, -0);

/** One registered state: a map per key group of the backend's range, copied on the first write after a snapshot. */
class StateTable {
  groups: Group[];
  /** groups[i] is shared with a snapshot when copiedAt[i] < the backend's epoch */
  copiedAt: number[];
  constructor(readonly name: string, readonly kind: StateKind, size: number) {
    this.groups = Array.from({ length: size }, () => new Map());
    this.copiedAt = new Array(size).fill(0);
  }
}

/** where a snapshot's cache-warming reads end up, so that the compiler keeps them */
let warmth = 0;

/** A key removed since the previous snapshot (a tombstone in the changelog). */
class Removed {
  constructor(readonly key: unknown) {}
}

/**
 * Changes since the previous snapshot: per state, per local key group, lookup key -> the value last
 * written, as the group map holds it (or a tombstone). Values of an ended epoch never change again
 * (containers are copied on their first change after a snapshot), so a delta reads them directly
 * instead of looking every key up again.
 */
type Changes = Map<StateTable, Array<Map<unknown, unknown> | undefined>>;

/** The changes of `table` per local key group over `segments`, latest first wins (one segment is used as it is, not copied). */
function changedKeys(segments: Changes[], table: StateTable): Array<Map<unknown, unknown> | undefined> {
  const tracked = segments.map((seg) => seg.get(table)).filter((groups) => groups !== undefined);
  if (tracked.length <= 1) return tracked[0] ?? [];
  const merged: Array<Map<unknown, unknown> | undefined> = [];
  for (const groups of tracked) {
    groups.forEach((keys, g) => {
      if (!keys) return;
      const into = (merged[g] ??= new Map());
      for (const [lookup, key] of keys) into.set(lookup, key);
    });
  }
  return merged;
}

const changeCount = (c: Changes): number => {
  let n = 0;
  for (const groups of c.values()) for (const g of groups) n += g?.size ?? 0;
  return n;
};


export class HeapKeyedBackend implements KeyedStateBackend {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly #tables = new Map<string, StateTable>();
  readonly #accessors = new Map<string, unknown>();
  #epoch = 1;
  /** containers (lists, maps) created or copied since the last snapshot: safe to mutate in place */
  #owned = new WeakSet<object>();
  #key: unknown;
  #lookup: unknown;
  /** the current key is not its own lookup key: its values are stored as KeyedValue */
  #keyed = false;
  #group = 0;
  readonly #inc: IncrementalSnapshots<Changes>;

  constructor(readonly options: KeyedBackendOptions, incremental: IncrementalOptions = {}) {
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = options.keyGroupRange;
    this.#inc = new IncrementalSnapshots<Changes>(incremental, () => new Map(), changeCount);
  }

  /** Records the current key of `table` as changed (incremental checkpoints only). */
  #track(table: StateTable, change: unknown): void {
    const changes = this.#inc.current;
    if (!changes) return;
    let groups = changes.get(table);
    if (!groups) changes.set(table, (groups = []));
    (groups[this.#group] ??= new Map()).set(this.#lookup, change);
  }

  setCurrentKey(key: unknown, keyGroup?: number): void {
    this.#key = key;
    this.#lookup = lookupKey(key);
    this.#keyed = needsKey(key);
    const kg = keyGroup ?? assignToKeyGroup(key, this.maxParallelism);
    const local = kg - this.keyGroupRange.start;
    if (local < 0 || kg > this.keyGroupRange.end) {
      throw new CheckpointError('FLOE_KEY_GROUP_OUT_OF_RANGE', `key ${String(key)} is in key group ${kg}, outside this subtask's range ${this.keyGroupRange.start}-${this.keyGroupRange.end}`, {
        hint: 'the key selector must return the same key for a record every time it is called',
      });
    }
    this.#group = local;
  }

  getCurrentKey(): unknown {
    return this.#key;
  }

  #table(descriptor: StateDescriptor): StateTable {
    let table = this.#tables.get(descriptor.name);
    if (!table) {
      table = new StateTable(descriptor.name, descriptor.kind, this.keyGroupRange.end - this.keyGroupRange.start + 1);
      this.#tables.set(descriptor.name, table);
    } else if (table.kind !== descriptor.kind) {
      throw new TypeError(`state '${descriptor.name}' is ${table.kind} state, not ${descriptor.kind}`);
    }
    return table;
  }

  #read(table: StateTable): unknown {
    const v = table.groups[this.#group]!.get(this.#lookup);
    return v instanceof KeyedValue ? v.value : v;
  }

  /** The group map, copied first if a snapshot still holds it. */
  #writable(table: StateTable): Group {
    const g = this.#group;
    if (table.copiedAt[g]! < this.#epoch) {
      table.groups[g] = new Map(table.groups[g]);
      table.copiedAt[g] = this.#epoch;
    }
    return table.groups[g]!;
  }

  #write(table: StateTable, value: unknown): void {
    const stored = this.#keyed ? new KeyedValue(this.#key, value) : value;
    this.#writable(table).set(this.#lookup, stored);
    this.#track(table, stored);
  }

  #clear(table: StateTable): void {
    if (!table.groups[this.#group]!.has(this.#lookup)) return;
    this.#writable(table).delete(this.#lookup);
    this.#track(table, new Removed(this.#key));
  }

  /** A container value that may be mutated in place: copied once per snapshot epoch. */
  #mutable<C extends object>(table: StateTable, create: () => C, copy: (c: C) => C): C {
    const current = this.#read(table) as C | undefined;
    // owned containers were written (and so tracked as changed) since the last snapshot
    if (current !== undefined && this.#owned.has(current)) return current;
    const fresh = current === undefined ? create() : copy(current);
    this.#owned.add(fresh);
    this.#write(table, fresh);
    return fresh;
  }

  #accessor<S>(descriptor: StateDescriptor, make: (table: StateTable) => S): S {
    const table = this.#table(descriptor);
    let accessor = this.#accessors.get(descriptor.name) as S | undefined;
    if (!accessor) {
      accessor = make(table);
      this.#accessors.set(descriptor.name, accessor);
    }
    return accessor;
  }

  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.#accessor(descriptor, (table) => ({
      value: () => {
        const v = this.#read(table) as T | undefined;
        return v === undefined ? descriptor.defaultValue : v;
      },
      update: (value: T) => (value === undefined ? this.#clear(table) : this.#write(table, value)),
      clear: () => this.#clear(table),
    }));
  }

  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.#accessor(descriptor, (table) => {
      const list = () => this.#mutable<T[]>(table, () => [], (c) => [...c]);
      return {
        get: () => [...((this.#read(table) as T[] | undefined) ?? [])],
        add: (value: T) => void list().push(value),
        addAll: (values: Iterable<T>) => void list().push(...values),
        update: (values: Iterable<T>) => {
          const fresh = [...values];
          if (fresh.length === 0) return this.#clear(table);
          this.#owned.add(fresh);
          this.#write(table, fresh);
        },
        clear: () => this.#clear(table),
      };
    });
  }

  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.#accessor(descriptor, (table) => {
      // user keys may be tuples: look up by canonical form, keep the original beside the value
      type Inner = Map<unknown, [K, V]>;
      const read = () => this.#read(table) as Inner | undefined;
      const write = () => this.#mutable<Inner>(table, () => new Map(), (c) => new Map(c));
      const state: MapState<K, V> = {
        get: (k) => read()?.get(lookupKey(k))?.[1],
        put: (k, v) => void write().set(lookupKey(k), [k, v]),
        putAll: (entries) => {
          const m = write();
          for (const [k, v] of entries) m.set(lookupKey(k), [k, v]);
        },
        remove: (k) => {
          const m = read();
          if (!m?.has(lookupKey(k))) return;
          const w = write();
          w.delete(lookupKey(k));
          if (w.size === 0) this.#clear(table);
        },
        contains: (k) => read()?.has(lookupKey(k)) ?? false,
        entries: () => (read() ?? new Map()).values() as IterableIterator<[K, V]>,
        keys: () => [...(read() ?? new Map()).values()].map((e) => e[0])[Symbol.iterator](),
        values: () => [...(read() ?? new Map()).values()].map((e) => e[1])[Symbol.iterator](),
        isEmpty: () => (read()?.size ?? 0) === 0,
        clear: () => this.#clear(table),
      };
      return state;
    });
  }

  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.#accessor(descriptor, (table) => ({
      get: () => this.#read(table) as T | undefined,
      add: (value: T) => {
        const current = this.#read(table) as T | undefined;
        this.#write(table, current === undefined ? value : descriptor.reduce(current, value));
      },
      clear: () => this.#clear(table),
    }));
  }

  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    const agg = descriptor.aggregate;
    return this.#accessor(descriptor, (table) => ({
      get: () => {
        const acc = this.#read(table) as ACC | undefined;
        return acc === undefined ? undefined : agg.getResult(acc);
      },
      add: (value: IN) => {
        const acc = this.#read(table) as ACC | undefined;
        // accumulators may be mutated by `add`: give it a private copy when a snapshot may hold it
        const base = acc === undefined ? agg.createAccumulator() : this.#owned.has(acc as object) || typeof acc !== 'object' || acc === null ? acc : structuredClone(acc);
        const next = agg.add(value, base);
        if (next !== null && typeof next === 'object') this.#owned.add(next as object);
        this.#write(table, next);
      },
      clear: () => this.#clear(table),
    }));
  }

  endBatch(): void {}

  snapshot(checkpointId: number): SnapshotRunner {
    // capture: the current group maps, which later writes copy instead of changing (O(groups))
    const captured = [...this.#tables.values()].map((t) => ({ table: t, groups: [...t.groups] }));
    this.#epoch++;
    this.#owned = new WeakSet();
    const plan = this.#inc.plan(checkpointId);
    const states: Record<string, StateKind> = {};
    for (const t of this.#tables.values()) states[t.name] = t.kind;
    return {
      run: () => {
        const counts = { keys: 0, chunks: 0 };
        const chunks = plan.kind === 'full' ? this.#fullChunks(captured, counts) : this.#deltaChunks(captured, plan, counts);
        return this.#inc.writeSnapshot(this.options.storage, plan, { maxParallelism: this.maxParallelism, states }, chunks, counts);
      },
    };
  }

  async *#fullChunks(captured: Array<{ table: StateTable; groups: Group[] }>, counts: { keys: number; chunks: number }): AsyncGenerator<EntryChunk> {
    const { start } = this.keyGroupRange;
    const size = this.keyGroupRange.end - start + 1;
    let budget = performance.now() + 4;
    // keys and values go to the encoder as two arrays (no [key, value] pairs). A group is listed by
    // forEach, not by iterating group.entries() here: that iterator allocates a result object per entry
    // inside this generator (1M entries, 64 MB of garbage and a marking cycle over the whole state)
    const keys: unknown[] = [];
    const values: unknown[] = [];
    let n = 0;
    let touched = 0;
    // listing a group also reads each key: loads that do not depend on each other run many at once and
    // bring the group into the cache, so encoding it does not wait on memory key by key (1M keys over
    // two subtasks, far bigger than the CPU caches). A group of one chunk goes out as the arrays
    // themselves: the encoder is done with a chunk before it asks for the next.
    const list = (v: unknown, k: unknown) => {
      if (v instanceof KeyedValue) {
        keys[n] = v.key;
        values[n++] = v.value;
        return;
      }
      keys[n] = k;
      values[n++] = v;
      if (typeof k === 'string') touched += k.length;
    };
    for (let g = 0; g < size; g++) {
      for (const { table, groups } of captured) {
        const group = groups[g]!;
        if (group.size === 0) continue;
        n = 0;
        group.forEach(list);
        keys.length = values.length = n;
        const mapValues = table.kind === 'map';
        for (let i = 0; i < n; i += CHUNK_ENTRIES) {
          const whole = i === 0 && n <= CHUNK_ENTRIES;
          const chunk: EntryChunk = {
            keyGroup: start + g,
            state: table.name,
            keys: whole ? keys : keys.slice(i, i + CHUNK_ENTRIES),
            values: whole ? values : values.slice(i, i + CHUNK_ENTRIES),
            mapValues,
          };
          counts.keys += chunk.keys.length;
          counts.chunks++;
          yield chunk;
        }
      }
      if (performance.now() > budget) {
        warmth = touched;
        await yieldToLoop(); // big snapshots must not block the run loop
        budget = performance.now() + 4;
      }
    }
  }

  /** Every key changed since the confirmed chain, as it was at the snapshot: a put, or a delete if gone. */
  async *#deltaChunks(
    captured: Array<{ table: StateTable; groups: Group[] }>,
    plan: Extract<SnapshotPlan<Changes>, { kind: 'delta' }>,
    counts: { keys: number; chunks: number },
  ): AsyncGenerator<SnapshotChunk> {
    const { start } = this.keyGroupRange;
    let budget = performance.now() + 4;
    for (const { table } of captured) {
      const perGroup = changedKeys(plan.segments, table);
      for (let g = 0; g < perGroup.length; g++) {
        const keys = perGroup[g];
        if (!keys) continue;
        const map = table.kind === 'map';
        let puts: Array<[unknown, unknown]> = [];
        let deletes: unknown[] = [];
        for (const [lookup, v] of keys) {
          if (v instanceof Removed) deletes.push(v.key);
          else {
            const keyed = v instanceof KeyedValue;
            const value = keyed ? v.value : v;
            puts.push([keyed ? v.key : lookup, map ? [...(value as Map<unknown, unknown>).values()] : value]);
          }
          if (puts.length + deletes.length === CHUNK_ENTRIES) {
            counts.keys += CHUNK_ENTRIES;
            counts.chunks++;
            yield { keyGroup: start + g, state: table.name, puts, deletes };
            puts = [];
            deletes = [];
          }
        }
        const n = puts.length + deletes.length;
        if (n) {
          counts.keys += n;
          counts.chunks++;
          yield { keyGroup: start + g, state: table.name, puts, deletes };
        }
        // like a full snapshot, yield by time, not per key group: a small delta finishes in one go
        if (performance.now() > budget) {
          await yieldToLoop();
          budget = performance.now() + 4;
        }
      }
    }
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.#inc.confirm(checkpointId);
  }

  async restore(handles: StateHandle[]): Promise<void> {
    const { start, end } = this.keyGroupRange;
    for (const handle of handles) {
      await forEachSnapshotPart(handle, this.options.storage, (header, chunks) => {
        if (header.maxParallelism !== this.maxParallelism) {
          throw new CheckpointError('FLOE_MAX_PARALLELISM_MISMATCH', `state was written with max parallelism ${header.maxParallelism}, the job has ${this.maxParallelism}`, {
            hint: 'keep pipeline.max-parallelism unchanged across restores',
          });
        }
        for (const chunk of chunks) {
          if (chunk.keyGroup < start || chunk.keyGroup > end) continue;
          const kind = header.states[chunk.state]!;
          let table = this.#tables.get(chunk.state);
          if (!table) {
            table = new StateTable(chunk.state, kind, end - start + 1);
            this.#tables.set(chunk.state, table);
          }
          const map = table.groups[chunk.keyGroup - start]!;
          for (const key of chunk.deletes ?? []) map.delete(lookupKey(key));
          for (const [key, value] of chunk.puts) {
            const v = kind === 'map' ? new Map((value as Array<[unknown, unknown]>).map((e) => [lookupKey(e[0]), e])) : value;
            map.set(lookupKey(key), needsKey(key) ? new KeyedValue(key, v) : v);
          }
        }
      });
    }
    for (const t of this.#tables.values()) t.copiedAt.fill(this.#epoch);
    this.#inc.reset();
  }

  async dispose(): Promise<void> {
    this.#tables.clear();
    this.#accessors.clear();
  }
}
