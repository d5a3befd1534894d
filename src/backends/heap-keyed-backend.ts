// Keyed state on the JS heap, per key group, with copy-on-write snapshots (memory and fs presets).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { IncrementalSnapshots, type IncrementalOptions, type SnapshotPlan } from './incremental-snapshots.ts';
import { AbstractKeyedBackend } from './keyed-backend-base.ts';
import { lookupKey } from './keyed-snapshot-reader.ts';
import { CHUNK_ENTRIES, type EntryChunk, type SnapshotChunk } from './snapshot-codec.ts';
import type { KeyedBackendOptions, SnapshotRunner, StateHandle, StateKind } from './types.ts';

/**
 * A value whose key the map key does not give back: an object key (looked up by its canonical
 * string) or -0 (a Map key of -0 is +0). Every other key is its own lookup key, and its value is
 * stored in the map as it is: no object per key (48 bytes each, and a pointer to chase per key in
 * a snapshot). Never changed once made: a snapshot may hold it.
 */
class KeyedValue {
  constructor(
    readonly key: unknown,
    readonly value: unknown,
  ) {}
}

/** lookup key -> the value, or a KeyedValue for keys the lookup key does not give back */
type Group = Map<unknown, unknown>;

const needsKey = (key: unknown): boolean => (key !== null && typeof key === 'object') || Object.is(key, -0);

/** One registered state: a map per key group of the backend's range, copied on the first write after a snapshot. */
class StateTable {
  groups: Group[];
  /**
   * some value of this table is a KeyedValue (an object or -0 key wrote it): until then a read returns
   * what the map holds without asking (an instanceof per read was a tenth of a keyed record's cost)
   */
  keyedValues = false;
  /** groups[i] is shared with a snapshot when copiedAt[i] < the backend's epoch */
  copiedAt: number[];
  constructor(
    readonly name: string,
    readonly kind: StateKind,
    size: number,
  ) {
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

export class HeapKeyedBackend extends AbstractKeyedBackend<StateTable> {
  #epoch = 1;
  /** containers (lists, maps) created or copied since the last snapshot: safe to mutate in place */
  #owned = new WeakSet<object>();
  /**
   * the current key is its own lookup key (any key but an object): `#lookup` is then `currentKey`,
   * not a second copy of it (storing a young key into this long-lived object costs a write barrier's
   * slow path, once per record)
   */
  #ownLookup = true;
  /** an object key's lookup key (its canonical string) */
  #objectLookup: unknown;
  /** the current key is not its own lookup key: its values are stored as KeyedValue */
  #keyed = false;
  /** the current key's group, as an index into a table's groups */
  #group = 0;
  /** the first key group of the range (what index 0 of a table's groups holds) */
  readonly #firstGroup: number;
  readonly #inc: IncrementalSnapshots<Changes>;

  constructor(options: KeyedBackendOptions, incremental: IncrementalOptions = {}) {
    super(options);
    this.#firstGroup = options.keyGroupRange.start;
    this.#inc = new IncrementalSnapshots<Changes>(incremental, () => new Map(), changeCount);
    this._opened(); // nothing to open: the state lives in this object
  }

  /** Records the current key of `table` as changed (incremental checkpoints only). */
  #track(table: StateTable, change: unknown): void {
    const changes = this.#inc.current;
    if (!changes) return;
    let groups = changes.get(table);
    if (!groups) changes.set(table, (groups = []));
    (groups[this.#group] ??= new Map()).set(this.#lookup, change);
  }

  get #lookup(): unknown {
    return this.#ownLookup ? this.currentKey : this.#objectLookup;
  }

  protected _setCurrentKey(key: unknown, keyGroup: number): void {
    // strings, the usual keys, are their own lookup keys: no calls to find that out
    if (typeof key === 'string') {
      this.#ownLookup = true;
      this.#keyed = false;
    } else {
      const lookup = lookupKey(key);
      this.#ownLookup = lookup === key;
      this.#objectLookup = lookup;
      this.#keyed = needsKey(key);
    }
    this.#group = keyGroup - this.#firstGroup;
  }

  protected _createTable(name: string, kind: StateKind): StateTable {
    return new StateTable(name, kind, this.keyGroupRange.end - this.keyGroupRange.start + 1);
  }

  _get(table: StateTable): unknown {
    const v = table.groups[this.#group]!.get(this.#lookup);
    return table.keyedValues && v instanceof KeyedValue ? v.value : v;
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

  _put(table: StateTable, value: unknown): void {
    let stored = value;
    if (this.#keyed) {
      stored = new KeyedValue(this.currentKey, value);
      table.keyedValues = true;
    }
    this.#writable(table).set(this.#lookup, stored);
    this.#track(table, stored);
  }

  _remove(table: StateTable): void {
    if (!table.groups[this.#group]!.has(this.#lookup)) return;
    this.#writable(table).delete(this.#lookup);
    this.#track(table, new Removed(this.currentKey));
  }

  /** A container value that may be mutated in place: copied once per snapshot epoch. */
  override _mutable<C extends object>(table: StateTable, create: () => C, copy: (c: C) => C): C {
    const current = this._get(table) as C | undefined;
    // owned containers were written (and so tracked as changed) since the last snapshot
    if (current !== undefined && this.#owned.has(current)) return current;
    const fresh = current === undefined ? create() : copy(current);
    this.#owned.add(fresh);
    this._put(table, fresh);
    return fresh;
  }

  /** Accumulators may be mutated by `add`: a private copy when a snapshot may hold this one. */
  override _unshared<V>(value: V): V {
    return this.#owned.has(value as object) || typeof value !== 'object' || value === null ? value : structuredClone(value);
  }

  override _putUnshared(table: StateTable, value: unknown): void {
    if (value !== null && typeof value === 'object') this.#owned.add(value);
    this._put(table, value);
  }

  protected _endBatch(): void {}

  protected _snapshot(checkpointId: number): SnapshotRunner {
    // capture: the current group maps, which later writes copy instead of changing (O(groups))
    const captured = [...this.tables.values()].map((t) => ({ table: t, groups: [...t.groups] }));
    this.#epoch++;
    this.#owned = new WeakSet();
    const plan = this.#inc.plan(checkpointId);
    const states = this._stateKinds();
    return {
      run: () => {
        const counts = { keys: 0, chunks: 0 };
        const chunks = plan.kind === 'full' ? this.#fullChunks(captured, counts) : this.#deltaChunks(captured, plan, counts);
        return this.#inc.writeSnapshot(this.options.storage, plan, { maxParallelism: this.maxParallelism, states }, chunks, counts);
      },
    };
  }

  async *#fullChunks(
    captured: Array<{ table: StateTable; groups: Group[] }>,
    counts: { keys: number; chunks: number },
  ): AsyncGenerator<EntryChunk> {
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

  protected _notifyCheckpointComplete(checkpointId: number): void {
    this.#inc.confirm(checkpointId);
  }

  protected async _restore(handles: StateHandle[]): Promise<void> {
    const { start } = this.keyGroupRange;
    await this._forEachRestoredPart(handles, (chunks) => {
      for (const [table, chunk] of chunks) {
        const map = table.groups[chunk.keyGroup - start]!;
        for (const key of chunk.deletes ?? []) map.delete(lookupKey(key));
        for (const [key, value] of chunk.puts) {
          const v = table.kind === 'map' ? new Map((value as Array<[unknown, unknown]>).map((e) => [lookupKey(e[0]), e])) : value;
          if (needsKey(key)) table.keyedValues = true;
          map.set(lookupKey(key), needsKey(key) ? new KeyedValue(key, v) : v);
        }
      }
    });
    for (const t of this.tables.values()) t.copiedAt.fill(this.#epoch);
    this.#inc.reset();
  }

  protected _dispose(): void {}
}
