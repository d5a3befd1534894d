// Keyed state on the JS heap: one cell per key (its key group and a value per state), snapshots copy a cell's values only when it is written while they run (memory and fs presets).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { IncrementalSnapshots, type IncrementalOptions, type SnapshotPlan } from './incremental-snapshots.ts';
import { assignToKeyGroup } from './key-groups.ts';
import { AbstractKeyedBackend } from './keyed-backend-base.ts';
import { lookupKey } from './keyed-snapshot-reader.ts';
import { CHUNK_ENTRIES, type EntryChunk, type SnapshotChunk } from './snapshot-codec.ts';
import type { KeyedBackendOptions, SnapshotRunner, StateHandle, StateKind } from './types.ts';

/**
 * One key's state: its key group, found once when the key is first written (a later record of the key
 * costs one Map lookup in `setCurrentKey`, no murmur hash), and its value in each registered state.
 * Flink's heap backend keeps the like per key (its StateMapEntry). Values are never changed in place
 * while a snapshot may hold them: containers are copied on their first change after a snapshot.
 */
class Cell {
  /** the snapshot epoch of the cell's last write: a write in a later epoch is the first since a snapshot */
  epoch: number;
  /** the states written in `epoch`, as bits (a table's `bit`) */
  dirty = 0;
  /** the value in the first registered state (undefined: none) */
  v0: unknown = undefined;
  /** the values in the other states, by table index - 1 */
  more: unknown[] | undefined = undefined;
  /** where the cell is in its key group's list */
  slot = -1;
  constructor(
    /** the key as the user gave it (an object key's lookup key is its canonical string) */
    readonly key: unknown,
    readonly group: number,
    epoch: number,
  ) {
    this.epoch = epoch;
  }
}

/** One registered state: an index into every cell's values. */
class StateTable {
  /** this state's bit in a cell's `dirty`; states past the 30th share the last bit */
  readonly bit: number;
  constructor(
    readonly name: string,
    readonly kind: StateKind,
    readonly index: number,
  ) {
    this.bit = 1 << Math.min(index, 30);
  }
}

const NONE: readonly Capture[] = [];

/** No state holds a value for the cell's key. */
const isEmpty = (c: Cell): boolean => c.v0 === undefined && (c.more === undefined || c.more.every((v) => v === undefined));

/** A cell's values as they are now, in table order. */
const valuesOf = (c: Cell): unknown[] => (c.more === undefined ? [c.v0] : [c.v0, ...c.more]);

/**
 * A snapshot between its capture and the end of its run: how long each key group's list of cells was
 * (cells made since come after: lists only grow while a snapshot runs), and the values of the cells
 * written since the capture, as they were (a cell's first write after the capture keeps them here).
 */
class Capture {
  readonly before = new Map<Cell, unknown[]>();
  constructor(readonly lengths: number[]) {}

  /** `c` was there at the capture. */
  holds(c: Cell, firstGroup: number): boolean {
    return c.slot < this.lengths[c.group - firstGroup]!;
  }

  /** The value of `c` in the state at `index`, as it was at the capture. */
  valueOf(c: Cell, index: number): unknown {
    if (this.before.size !== 0) {
      const kept = this.before.get(c);
      if (kept !== undefined) return kept[index];
    }
    return index === 0 ? c.v0 : c.more?.[index - 1];
  }
}

/**
 * Changes since the previous snapshot: every cell written, with the bits of the states written. A delta
 * reads the cells' values as its capture saw them.
 */
type Changes = Map<Cell, number>;

/** lookup key -> cell */
type Cells = Map<unknown, Cell>;

export class HeapKeyedBackend extends AbstractKeyedBackend<StateTable> {
  #epoch = 1;
  /** containers (lists, maps) created or copied since the last snapshot: safe to mutate in place */
  #owned = new WeakSet<object>();
  /** every key's cell, by lookup key, in the key's own key group */
  readonly #cells: Cells = new Map();
  /**
   * cells of keys set with an explicit key group that is not the key's own (the timer service keeps
   * one key per key group): per key group, by lookup key
   */
  readonly #pinned = new Map<number, Cells>();
  /** every cell (own and pinned) per local key group: what a full snapshot lists, in the order made */
  readonly #groups: Cell[][];
  /** the current key's cell; undefined until its first write */
  #cell: Cell | undefined = undefined;
  /** the current key's lookup key */
  #lookup: unknown = undefined;
  /** the current key's explicit key group when its cell is pinned, -1 when the key is in its own group */
  #pin = -1;
  /** the backend owns every key group: no key can be out of range */
  readonly #wholeRange: boolean;
  /** `dispose()` was called: `setCurrentKey` takes the base's way, which refuses */
  #closed = false;
  /** snapshots captured and still running (weak: a runner dropped unrun releases its capture) */
  #captures: Array<WeakRef<Capture>> = [];
  /** cells emptied while a snapshot ran: they leave the maps once none runs */
  #emptied: Cell[] = [];
  readonly #inc: IncrementalSnapshots<Changes>;

  constructor(options: KeyedBackendOptions, incremental: IncrementalOptions = {}) {
    super(options);
    this.#wholeRange = options.keyGroupRange.start === 0 && options.keyGroupRange.end === options.maxParallelism - 1;
    this.#groups = Array.from({ length: options.keyGroupRange.end - options.keyGroupRange.start + 1 }, () => []);
    this.#inc = new IncrementalSnapshots<Changes>(
      incremental,
      () => new Map(),
      (c) => c.size,
    );
    this._opened(); // nothing to open: the state lives in this object
  }

  /**
   * A key seen before gives its key group from its cell: one Map lookup, no hash (its cell's group is in
   * this backend's range, or it would not have been made). A key without one, on a backend owning every
   * key group, is hashed only if a cell is made for it or its group is asked for (an operator that keeps
   * its own per-key data, as the window operator's slots, writes keyed state only at snapshots). Other
   * keys take the base's way, which hashes the key and refuses one out of range.
   */
  override setCurrentKey(key: unknown, keyGroup?: number): void {
    if (keyGroup === undefined && !this.#closed) {
      const lookup = typeof key === 'string' ? key : lookupKey(key);
      const cell = this.#cells.get(lookup);
      if (cell !== undefined) {
        // the cell's key (equal to `key`): storing the record's young key into this long-lived object
        // would cost a write barrier's slow path per record; `#lookup` is only read while `#cell` is unset
        this._setCurrentKeyKnown(cell.key, cell.group);
        this.#cell = cell;
        this.#pin = -1;
        return;
      }
      if (this.#wholeRange) {
        this._setCurrentKeyUnhashed(key);
        this.#cell = undefined;
        this.#lookup = lookup;
        this.#pin = -1;
        return;
      }
    }
    super.setCurrentKey(key, keyGroup);
  }

  protected _setCurrentKey(key: unknown, keyGroup: number, hashed: boolean): void {
    const lookup = typeof key === 'string' ? key : lookupKey(key);
    this.#lookup = lookup;
    if (hashed) {
      // a key without a cell (setCurrentKey looked, or the backend is closing and refused already): made on its first write
      this.#cell = undefined;
      this.#pin = -1;
      return;
    }
    // an explicit key group: the key's own cell if it is the key's own group, else a pinned one
    const own = this.#cells.get(lookup);
    if (this.#isOwn(key, own, keyGroup)) {
      this.#cell = own;
      this.#pin = -1;
    } else {
      this.#cell = this.#pinned.get(keyGroup)?.get(lookup);
      this.#pin = keyGroup;
    }
  }

  /** `key` in key group `group` belongs in the map of keys in their own group, not pinned to `group` (`own`: its cell there). */
  #isOwn(key: unknown, own: Cell | undefined, group: number): boolean {
    return own !== undefined ? own.group === group : assignToKeyGroup(key, this.maxParallelism) === group;
  }

  protected _createTable(name: string, kind: StateKind): StateTable {
    return new StateTable(name, kind, this.tables.size);
  }

  _get(table: StateTable): unknown {
    const c = this.#cell;
    if (c === undefined) return undefined;
    const i = table.index;
    return i === 0 ? c.v0 : c.more?.[i - 1];
  }

  _put(table: StateTable, value: unknown): void {
    let c = this.#cell;
    if (c === undefined) c = this.#newCell(table);
    else if (c.epoch !== this.#epoch || (c.dirty & table.bit) === 0) this.#firstWrite(c, table);
    const i = table.index;
    if (i === 0) c.v0 = value;
    else this.#setMore(c, i, value);
  }

  _remove(table: StateTable): void {
    const c = this.#cell;
    if (c === undefined || this._get(table) === undefined) return;
    if (c.epoch !== this.#epoch || (c.dirty & table.bit) === 0) this.#firstWrite(c, table);
    const i = table.index;
    if (i === 0) c.v0 = undefined;
    else c.more![i - 1] = undefined;
    if (isEmpty(c)) this.#empty(c);
  }

  #setMore(c: Cell, i: number, value: unknown): void {
    const more = (c.more ??= []);
    while (more.length < i - 1) more.push(undefined);
    more[i - 1] = value;
  }

  /**
   * The current key's cell, made now (its first write). `#cell` is unset only where the key has no cell:
   * `setCurrentKey` looked it up, a dropped cell left its map, and a restore sets the current key again.
   */
  #newCell(table: StateTable): Cell {
    const cells = this.#pin < 0 ? this.#cells : this.#pinnedCells(this.#pin);
    const c = this.#make(cells, this.#lookup, this.currentKey, this.currentKeyGroup);
    c.dirty = table.bit;
    this.#cell = c;
    this.#inc.current?.set(c, table.bit);
    return c;
  }

  #make(cells: Cells, lookup: unknown, key: unknown, group: number): Cell {
    const c = new Cell(key, group, this.#epoch);
    const list = this.#groups[group - this.keyGroupRange.start]!;
    c.slot = list.length;
    list.push(c);
    cells.set(lookup, c);
    return c;
  }

  #pinnedCells(group: number): Cells {
    let cells = this.#pinned.get(group);
    if (!cells) this.#pinned.set(group, (cells = new Map()));
    return cells;
  }

  /** The first write of `table` in `c` since a snapshot: running snapshots keep the values they saw, the change is tracked. */
  #firstWrite(c: Cell, table: StateTable): void {
    if (c.epoch !== this.#epoch) {
      if (this.#captures.length !== 0) {
        let values: unknown[] | undefined;
        for (const cap of this.#running()) {
          if (!cap.holds(c, this.keyGroupRange.start) || cap.before.has(c)) continue;
          cap.before.set(c, (values ??= valuesOf(c)));
        }
      }
      c.epoch = this.#epoch;
      c.dirty = 0;
    }
    c.dirty |= table.bit;
    // a segment is an epoch: the cell's bits of this epoch are its change
    this.#inc.current?.set(c, c.dirty);
  }

  /** A cell without values leaves its map, once no running snapshot may still list it. */
  #empty(c: Cell): void {
    if (this.#running().length !== 0) {
      this.#emptied.push(c);
      return;
    }
    this.#drop(c);
  }

  /** `c` leaves its maps and its group's list (never while a snapshot runs: the lists must only grow then). */
  #drop(c: Cell): void {
    if (c.slot < 0) return; // dropped already (a cell may be emptied twice while snapshots run)
    const list = this.#groups[c.group - this.keyGroupRange.start]!;
    const last = list.pop()!;
    if (last !== c) {
      list[c.slot] = last;
      last.slot = c.slot;
    }
    c.slot = -1;
    const lookup = lookupKey(c.key);
    const own = this.#cells.get(lookup);
    if (own === c) this.#cells.delete(lookup);
    else {
      const pinned = this.#pinned.get(c.group);
      if (pinned?.get(lookup) === c) pinned.delete(lookup);
    }
    if (this.#cell === c) this.#cell = undefined;
  }

  /** The captures of snapshots still running (dropped runners' captures are let go here). */
  #running(): readonly Capture[] {
    if (this.#captures.length === 0) return NONE;
    const live: Capture[] = [];
    const refs: Array<WeakRef<Capture>> = [];
    for (const ref of this.#captures) {
      const cap = ref.deref();
      if (cap === undefined) continue;
      live.push(cap);
      refs.push(ref);
    }
    if (refs.length !== this.#captures.length) this.#captures = refs;
    return live;
  }

  /** A snapshot's run ended: its capture is let go, and emptied cells leave once no snapshot runs. */
  #release(cap: Capture): void {
    this.#captures = this.#captures.filter((ref) => {
      const c = ref.deref();
      return c !== undefined && c !== cap;
    });
    if (this.#captures.length === 0) this.#purge();
  }

  /** Cells emptied while snapshots ran leave their maps (unless written again since). */
  #purge(): void {
    const emptied = this.#emptied;
    this.#emptied = [];
    for (const c of emptied) if (isEmpty(c)) this.#drop(c);
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
    // capture: a new epoch (O(1)); a cell written from now on keeps its values for this snapshot first
    if (this.#emptied.length !== 0 && this.#running().length === 0) this.#purge();
    const cap = new Capture(this.#groups.map((list) => list.length));
    this.#captures.push(new WeakRef(cap));
    this.#epoch++;
    this.#owned = new WeakSet();
    const plan = this.#inc.plan(checkpointId);
    const states = this._stateKinds();
    const tables = [...this.tables.values()];
    return {
      run: async () => {
        try {
          const counts = { keys: 0, chunks: 0 };
          const chunks = plan.kind === 'full' ? this.#fullChunks(cap, tables, counts) : this.#deltaChunks(cap, tables, plan, counts);
          return await this.#inc.writeSnapshot(this.options.storage, plan, { maxParallelism: this.maxParallelism, states }, chunks, counts);
        } finally {
          this.#release(cap);
        }
      },
    };
  }

  async *#fullChunks(cap: Capture, tables: StateTable[], counts: { keys: number; chunks: number }): AsyncGenerator<EntryChunk> {
    const { start } = this.keyGroupRange;
    const groups = this.#groups;
    let budget = performance.now() + 4;
    // keys and values go to the encoder as two arrays (no [key, value] pairs). A group of one chunk
    // goes out as the arrays themselves: the encoder is done with a chunk before it asks for the next.
    const keys: unknown[] = [];
    const values: unknown[] = [];
    for (let g = 0; g < groups.length; g++) {
      const cells = groups[g]!;
      const listed = cap.lengths[g]!;
      if (listed === 0) continue;
      for (const table of tables) {
        const index = table.index;
        let n = 0;
        for (let i = 0; i < listed; i++) {
          const c = cells[i]!;
          const v = cap.valueOf(c, index);
          if (v === undefined) continue;
          keys[n] = c.key;
          values[n++] = v;
        }
        if (n === 0) continue;
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
        await yieldToLoop(); // big snapshots must not block the run loop
        budget = performance.now() + 4;
      }
    }
  }

  /**
   * Every key changed since the confirmed chain, as it was at the snapshot: a put, or a delete if gone.
   * A key emptied, dropped and made again is two cells: the dropped one changed first, so its delete comes
   * first, in an earlier chunk or earlier in the same one (a chunk's deletes are applied before its puts).
   */
  async *#deltaChunks(
    cap: Capture,
    tables: StateTable[],
    plan: Extract<SnapshotPlan<Changes>, { kind: 'delta' }>,
    counts: { keys: number; chunks: number },
  ): AsyncGenerator<SnapshotChunk> {
    const { start } = this.keyGroupRange;
    let changed: Changes = plan.segments[0] ?? new Map();
    if (plan.segments.length > 1) {
      changed = new Map();
      for (const seg of plan.segments) for (const [c, mask] of seg) changed.set(c, (changed.get(c) ?? 0) | mask);
    }
    // per state, per local key group: the changed cells
    const byTable = tables.map(() => [] as Array<Cell[] | undefined>);
    for (const [c, mask] of changed) {
      for (const table of tables) if ((mask & table.bit) !== 0) (byTable[table.index]![c.group - start] ??= []).push(c);
    }
    let budget = performance.now() + 4;
    for (const table of tables) {
      const groups = byTable[table.index]!;
      const map = table.kind === 'map';
      for (let g = 0; g < groups.length; g++) {
        const cells = groups[g];
        if (!cells) continue;
        let puts: Array<[unknown, unknown]> = [];
        let deletes: unknown[] = [];
        for (const c of cells) {
          const v = cap.valueOf(c, table.index);
          if (v === undefined) deletes.push(c.key);
          else puts.push([c.key, map ? [...(v as Map<unknown, unknown>).values()] : v]);
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
    const cellFor = (key: unknown, group: number, create: boolean): Cell | undefined => {
      const lookup = lookupKey(key);
      const own = this.#cells.get(lookup);
      const cells = this.#isOwn(key, own, group) ? this.#cells : create ? this.#pinnedCells(group) : this.#pinned.get(group);
      return cells?.get(lookup) ?? (create ? this.#make(cells!, lookup, key, group) : undefined);
    };
    await this._forEachRestoredPart(handles, (chunks) => {
      for (const [table, chunk] of chunks) {
        const i = table.index;
        for (const key of chunk.deletes ?? []) {
          const c = cellFor(key, chunk.keyGroup, false);
          if (c === undefined) continue;
          if (i === 0) c.v0 = undefined;
          else if (c.more) c.more[i - 1] = undefined;
          if (isEmpty(c)) this.#drop(c);
        }
        for (const [key, value] of chunk.puts) {
          const v = table.kind === 'map' ? new Map((value as Array<[unknown, unknown]>).map((e) => [lookupKey(e[0]), e])) : value;
          const c = cellFor(key, chunk.keyGroup, true)!;
          if (i === 0) c.v0 = v;
          else this.#setMore(c, i, v);
        }
      }
    });
    // the current key's cell may be a restored one now
    this.#cell = undefined;
    if (this.currentKeyGroup >= 0) this._setCurrentKey(this.currentKey, this.currentKeyGroup, false);
    this.#inc.reset();
  }

  protected _dispose(): void {
    this.#closed = true;
  }
}
