// Keyed state in one LevelDB per subtask (level preset): a per-batch overlay, one batch() write per data batch, snapshots from a LevelDB snapshot.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Level } from 'level';
import { nanoid } from 'nanoid';
import { CheckpointError } from '../errors.ts';
import { IncrementalSnapshots, type IncrementalOptions, type SnapshotPlan } from './incremental-snapshots.ts';
import { assignToKeyGroup } from './key-groups.ts';
import { forEachSnapshotPart, lookupKey } from './keyed-snapshot-reader.ts';
import { LevelChangelog, UNKEPT } from './level-changelog.ts';
import { decodeKey, KEY_PREFIX_CHARS, keyFromTag, keyGroupPrefix, keyTag, statePrefix } from './level-key-codec.ts';
import { decodeValue, encodeValue, VALUE_ENCODING } from './level-value-codec.ts';
import { CHUNK_ENTRIES, type StoredChunk } from './snapshot-codec.ts';
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

export interface LevelBackendOptions extends IncrementalOptions {
  /** parent of the working directories (default `<os tmpdir>/floe-level`); each subtask attempt gets its own, removed on dispose */
  localDir?: string;
  /**
   * bound of the decoded-value cache in estimated bytes of JS heap (default 16 MiB; 0 keeps only
   * what the current and the in-flight write batches touched): recently used keys skip LevelDB
   */
  cacheBytes?: number;
  /** characters of changed values an incremental changelog segment keeps (default 4 Mi, see level-changelog.ts) */
  changelogValueChars?: number;
}

export const DEFAULT_CACHE_BYTES = 16 << 20;

type Db = Level<string, string>;
type DbSnapshot = ReturnType<Db['snapshot']>;

/**
 * One key's state as the backend last saw it: the overlay of the write path (dirty, or on its way
 * to disk) and the decoded-value cache in one map entry. `undefined` value = absent/deleted.
 */
interface Slot {
  table: LevelTable;
  /** the LevelDB key */
  key: string;
  value: unknown;
  /** written since the last flush */
  dirty: boolean;
  /** the flush generation that last wrote it (0: never); the slot may leave the cache once that write is on disk */
  gen: number;
  /** used since eviction last looked at it (second chance) */
  hot: boolean;
  /** in the eviction queue */
  queued: boolean;
  /** in the cache (an evicted slot may still sit in the queue) */
  cached: boolean;
  /** estimated heap bytes, for the cache bound */
  size: number;
}

/** Rough heap cost of a cached slot beyond its key and value (map entry, slot object, string headers). */
const SLOT_BYTES = 160;
const estimate = (key: string, valueChars: number) => SLOT_BYTES + 2 * key.length + 2 * valueChars;

/** A FIFO of slots (an array with a moving head, compacted as it drains). */
class SlotQueue {
  #items: Slot[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(slot: Slot): void {
    this.#items.push(slot);
  }
  shift(): Slot | undefined {
    if (this.#head === this.#items.length) return undefined;
    const slot = this.#items[this.#head++];
    if (this.#head >= 4096 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return slot;
  }
}

/** A registered state: its id in the key prefix, and its key prefixes per local key group. */
class LevelTable {
  readonly prefixes: string[] = [];
  constructor(readonly id: number, readonly name: string, readonly kind: StateKind) {}
  prefix(keyGroup: number, local: number): string {
    return (this.prefixes[local] ??= statePrefix(keyGroup, this.id));
  }
}

/** Map state lives in LevelDB as [k, v][] and in the cache as lookup key -> [k, v]. */
type InnerMap = Map<unknown, [unknown, unknown]>;

const toStored = (kind: StateKind, value: unknown): unknown => (kind === 'map' ? [...(value as InnerMap).values()] : value);
const fromStored = (kind: StateKind, stored: unknown): unknown =>
  kind === 'map' ? new Map((stored as Array<[unknown, unknown]>).map((e) => [lookupKey(e[0]), e])) : stored;

/** Changed keys since the previous snapshot: their LevelDB keys (state and key group are in the prefix) and values as written. */
type Changes = LevelChangelog;

const RESTORE_BATCH = 10_000;
/**
 * Entries one `nextv` of a full snapshot's scan reads (see #fullChunks): many while the run loop is
 * busy (each read then waits for a turn of the event loop), few otherwise: a batch held across the
 * young generation's collections is copied and promoted, a third of an idle scan's time at 32k.
 */
const SCAN_ENTRIES_BUSY = 32_768;
const SCAN_ENTRIES_IDLE = 4096;
/** and bytes: classic-level's own iterator option, which the `level` typings (abstract-level's options) do not name */
const CLASSIC_SCAN_OPTIONS: { highWaterMarkBytes: number } = { highWaterMarkBytes: 2 << 20 };
/** dirty slots gathered while a write is in flight before the task waits for it */
export const MAX_GATHERED = 4096;

export class LevelKeyedBackend implements KeyedStateBackend {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  /** this subtask attempt's LevelDB directory */
  readonly location: string;
  readonly #db: Db;
  readonly #opening: Promise<void>;
  #open = false;
  #openError: unknown = null;
  readonly #tables = new Map<string, LevelTable>();
  readonly #byId: LevelTable[] = [];
  readonly #accessors = new Map<string, unknown>();
  /** overlay + decoded-value cache, by LevelDB key */
  readonly #cache = new Map<string, Slot>();
  #cacheBytes = 0;
  readonly #cacheLimit: number;
  /**
   * slots that may leave the cache, oldest first (clean, their last write on disk): eviction only
   * looks at these, so its work is proportional to what it evicts, however many slots are dirty
   */
  #evictable = new SlotQueue();
  /** slots written since the last flush */
  #dirty: Slot[] = [];
  #gen = 0;
  /** the last flush generation whose write is on disk */
  #durable = 0;
  /** the last queued LevelDB operation (writes and snapshot creation run in order) */
  #tail: Promise<unknown> = Promise.resolve();
  /** the batch write still on its way to disk, if any: the next flush waits for it (one write in flight) */
  #pendingWrite: Promise<void> | null = null;
  #writeError: unknown = null;
  #key: unknown;
  #tag = '';
  #kg = 0;
  /** bumped by setCurrentKey and endBatch: the remembered slot is valid only within one stamp */
  #stamp = 0;
  #last: { stamp: number; table: LevelTable | null; slot: Slot | null } = { stamp: -1, table: null, slot: null };
  readonly #inc: IncrementalSnapshots<Changes>;
  readonly #runLoopBusy: () => boolean;
  /** reads that found the key in the cache / that went to LevelDB (observability and specs) */
  readonly stats = { hits: 0, misses: 0 };

  constructor(readonly options: KeyedBackendOptions, backendOptions: LevelBackendOptions = {}) {
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = options.keyGroupRange;
    this.#cacheLimit = Math.max(0, backendOptions.cacheBytes ?? DEFAULT_CACHE_BYTES);
    const safe = (s: string) => s.replace(/[^\w.-]/g, '_');
    this.location = join(backendOptions.localDir ?? join(tmpdir(), 'floe-level'), safe(options.jobId), `${safe(options.operatorUid)}-${options.subtaskIndex}-${nanoid(8)}`);
    // 16 MiB memtables and a 64 MiB block cache; LevelDB's bloom filters (10 bits/key) are on in classic-level
    this.#db = new Level<string, string>(this.location, { keyEncoding: 'utf8', valueEncoding: VALUE_ENCODING, writeBufferSize: 16 << 20, cacheSize: 64 << 20 } as never);
    // the directory is new and empty: until it is open, a read that misses the cache finds nothing
    this.#opening = this.#db.open({ createIfMissing: true, errorIfExists: true }).then(
      () => void (this.#open = true),
      (cause) => {
        this.#openError = new CheckpointError('FLOE_LEVEL_OPEN_FAILED', `cannot open the level backend's working directory ${this.location}: ${(cause as Error).message}`, {
          cause,
          hint: 'point state.backend.level.localdir at a writable local directory with free space',
        });
      },
    );
    this.#inc = new IncrementalSnapshots<Changes>(backendOptions, () => new LevelChangelog(backendOptions.changelogValueChars), (c) => c.size);
    this.#runLoopBusy = options.runLoopBusy ?? (() => false);
  }

  async #ready(): Promise<void> {
    await this.#opening;
    if (this.#openError) throw this.#openError;
  }

  setCurrentKey(key: unknown, keyGroup?: number): void {
    const kg = keyGroup ?? assignToKeyGroup(key, this.maxParallelism);
    if (kg < this.keyGroupRange.start || kg > this.keyGroupRange.end) {
      throw new CheckpointError('FLOE_KEY_GROUP_OUT_OF_RANGE', `key ${String(key)} is in key group ${kg}, outside this subtask's range ${this.keyGroupRange.start}-${this.keyGroupRange.end}`, {
        hint: 'the key selector must return the same key for a record every time it is called',
      });
    }
    this.#key = key;
    this.#tag = keyTag(key);
    this.#kg = kg;
    this.#stamp++;
  }

  getCurrentKey(): unknown {
    return this.#key;
  }

  #table(name: string, kind: StateKind): LevelTable {
    let table = this.#tables.get(name);
    if (!table) {
      table = new LevelTable(this.#byId.length, name, kind);
      if (table.id > 0xffff) throw new RangeError('the level backend holds at most 65536 states per operator');
      this.#tables.set(name, table);
      this.#byId.push(table);
    } else if (table.kind !== kind) {
      throw new TypeError(`state '${name}' is ${table.kind} state, not ${kind}`);
    }
    return table;
  }

  /** The current key's slot in `table`, read through from LevelDB on a miss. */
  #slot(table: LevelTable, read: boolean): Slot {
    // a read-modify-write touches the same slot twice: remember it for the current key
    const last = this.#last;
    if (last.stamp === this.#stamp && last.table === table) return last.slot!;
    const key = table.prefix(this.#kg, this.#kg - this.keyGroupRange.start) + this.#tag;
    let slot = this.#cache.get(key);
    if (slot) {
      slot.hot = true;
      if (read) this.stats.hits++;
    } else {
      // a blind write needs no read; until the database is open it is new and empty
      const stored = read && this.#open ? this.#get(key) : undefined;
      if (read) this.stats.misses++;
      const value = stored === undefined ? undefined : fromStored(table.kind, decodeValue(stored));
      slot = { table, key, value, dirty: false, gen: 0, hot: false, queued: read, cached: true, size: estimate(key, stored?.length ?? 0) };
      this.#cache.set(key, slot);
      this.#cacheBytes += slot.size;
      // a slot read from LevelDB may leave again at once; a blind write's slot once its write is on disk
      if (read) this.#evictable.push(slot);
    }
    last.stamp = this.#stamp;
    last.table = table;
    last.slot = slot;
    return slot;
  }

  /**
   * `getSync` of a key. classic-level writes string keys into one reused buffer and detects a key
   * that does not fit only when it fills the buffer exactly, which a multi-byte character can
   * miss (the key would be cut short): keys that could reach the buffer's end (its first size is
   * at least 64 bytes) and are not plain ASCII go as Buffers instead.
   */
  #get(key: string, options?: { snapshot: DbSnapshot }): string | undefined {
    if (key.length > 21 && Buffer.byteLength(key) !== key.length) {
      return this.#db.getSync(Buffer.from(key) as never, { keyEncoding: 'buffer', valueEncoding: VALUE_ENCODING, snapshot: options?.snapshot });
    }
    // encodings named by their formats: abstract-level then passes the options on without copying them
    return options ? this.#db.getSync(key, { keyEncoding: 'utf8', valueEncoding: VALUE_ENCODING, snapshot: options.snapshot }) : this.#db.getSync(key);
  }

  #read(table: LevelTable): unknown {
    return this.#slot(table, true).value;
  }

  #write(table: LevelTable, value: unknown): void {
    const slot = this.#slot(table, false);
    slot.value = value;
    if (slot.dirty) return;
    slot.dirty = true;
    this.#dirty.push(slot);
  }

  #clear(table: LevelTable): void {
    if (this.#read(table) !== undefined) this.#write(table, undefined);
  }

  #accessor<S>(descriptor: StateDescriptor, make: (table: LevelTable) => S): S {
    const table = this.#table(descriptor.name, descriptor.kind);
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
      // values decoded from LevelDB are private to the overlay: appending in place is safe
      const append = (values: Iterable<T>) => {
        const list = (this.#read(table) as T[] | undefined) ?? [];
        for (const v of values) list.push(v);
        if (list.length) this.#write(table, list);
      };
      return {
        get: () => [...((this.#read(table) as T[] | undefined) ?? [])],
        add: (value: T) => append([value]),
        addAll: (values: Iterable<T>) => append(values),
        update: (values: Iterable<T>) => {
          const fresh = [...values];
          if (fresh.length === 0) this.#clear(table);
          else this.#write(table, fresh);
        },
        clear: () => this.#clear(table),
      };
    });
  }

  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.#accessor(descriptor, (table) => {
      const read = () => this.#read(table) as InnerMap | undefined;
      const write = () => {
        const m = read() ?? new Map();
        this.#write(table, m);
        return m;
      };
      const state: MapState<K, V> = {
        get: (k) => read()?.get(lookupKey(k))?.[1] as V | undefined,
        put: (k, v) => void write().set(lookupKey(k), [k, v]),
        putAll: (entries) => {
          const m = write();
          for (const [k, v] of entries) m.set(lookupKey(k), [k, v]);
          if (m.size === 0) this.#write(table, undefined);
        },
        remove: (k) => {
          const m = read();
          if (!m?.has(lookupKey(k))) return;
          m.delete(lookupKey(k));
          this.#write(table, m.size === 0 ? undefined : m);
        },
        contains: (k) => read()?.has(lookupKey(k)) ?? false,
        entries: () => [...(read() ?? new Map()).values()][Symbol.iterator]() as IterableIterator<[K, V]>,
        keys: () => [...(read() ?? new Map()).values()].map((e) => e[0] as K)[Symbol.iterator](),
        values: () => [...(read() ?? new Map()).values()].map((e) => e[1] as V)[Symbol.iterator](),
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
        this.#write(table, agg.add(value, acc === undefined ? agg.createAccumulator() : acc));
      },
      clear: () => this.#clear(table),
    }));
  }

  /** Queues `op` after every earlier LevelDB operation (after the database is open). */
  #enqueue<T>(op: () => Promise<T> | T): Promise<T> {
    const p = this.#tail.then(async () => {
      await this.#ready();
      return op();
    });
    this.#tail = p.catch(() => {});
    return p;
  }

  /**
   * Writes the slots written since the last flush in one batch. The write overlaps the next data
   * batches: its slots stay in the cache (read-your-writes) until it is on disk, and only then may
   * the cache evict them. One write is in flight at a time; batches that end meanwhile gather and
   * go in the next write (group commit), and past MAX_GATHERED slots the task waits
   * (backpressure). A snapshot forces a flush.
   */
  #flush(force = false): Promise<void> | undefined {
    if (this.#writeError) return Promise.reject(this.#writeError);
    if (this.#dirty.length === 0) return undefined;
    if (this.#pendingWrite && !force) {
      // group commit: while a write is on its way, batches gather in the cache, up to a bound
      if (this.#dirty.length < MAX_GATHERED) return undefined;
      return this.#pendingWrite.then(() => this.#flush());
    }
    const slots = this.#dirty;
    const gen = ++this.#gen;
    this.#dirty = [];
    const changes = this.#inc.current;
    // a chained batch hands each operation to LevelDB's native WriteBatch at once (no op objects to
    // clone and re-read); before the database is open the operations wait in an array
    const chained = this.#open ? this.#db.batch() : null;
    const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
    for (const slot of slots) {
      slot.dirty = false;
      slot.gen = gen;
      if (slot.value === undefined) {
        if (chained) chained.del(slot.key);
        else ops.push({ type: 'del', key: slot.key });
        this.#resize(slot, 0);
        changes?.record(slot.key, null);
      } else {
        const value = encodeValue(toStored(slot.table.kind, slot.value), slot.table.name);
        if (chained) chained.put(slot.key, value);
        else ops.push({ type: 'put', key: slot.key, value });
        this.#resize(slot, value.length);
        changes?.record(slot.key, value);
      }
    }
    const write: Promise<void> = this.#enqueue(() => (chained ? chained.write() : this.#db.batch(ops))).then(
      () => {
        this.#durable = gen;
        for (const slot of slots) {
          if (slot.gen === gen && slot.cached && !slot.queued) {
            slot.queued = true;
            this.#evictable.push(slot);
          }
        }
      },
      (error) => {
        this.#writeError ??= error;
        throw error;
      },
    );
    const pending: Promise<void> = write.then(
      () => void (this.#pendingWrite === pending && (this.#pendingWrite = null)),
      (error) => {
        if (this.#pendingWrite === pending) this.#pendingWrite = null;
        throw error;
      },
    );
    this.#pendingWrite = pending;
    pending.catch(() => {}); // surfaced by the next flush or snapshot
    return undefined;
  }

  #resize(slot: Slot, valueChars: number): void {
    const size = estimate(slot.key, valueChars);
    this.#cacheBytes += size - slot.size;
    slot.size = size;
  }

  /**
   * Brings the cache back under its bound: the oldest evictable slot leaves unless it was used
   * since it was queued (then it gets a second chance at the back). A slot written again since it
   * was queued is skipped here and queued anew when that write is on disk: LevelDB answers for an
   * evicted slot with the same value.
   */
  #evict(): void {
    let chances = this.#evictable.length; // each slot gets at most one second chance per call
    while (this.#cacheBytes > this.#cacheLimit) {
      const slot = this.#evictable.shift();
      if (!slot) return;
      slot.queued = false;
      if (!slot.cached || slot.dirty || slot.gen > this.#durable) continue;
      if (slot.hot && chances-- > 0) {
        slot.hot = false;
        slot.queued = true;
        this.#evictable.push(slot);
        continue;
      }
      slot.cached = false;
      this.#cache.delete(slot.key);
      this.#cacheBytes -= slot.size;
    }
  }

  endBatch(): void | Promise<void> {
    this.#stamp++; // eviction below may drop the remembered slot
    const flushed = this.#flush();
    if (this.#cacheBytes > this.#cacheLimit) this.#evict();
    return flushed;
  }

  /** Slots in the decoded-value cache and their estimated heap bytes (observability and specs). */
  cacheSize(): { entries: number; bytes: number } {
    return { entries: this.#cache.size, bytes: this.#cacheBytes };
  }

  snapshot(checkpointId: number): SnapshotRunner {
    // the dirty slots go to LevelDB first; the LevelDB snapshot is opened right after that write, before any later one
    void this.#flush(true)?.catch(() => {}); // a failed write fails the snapshot below too
    const view: Promise<DbSnapshot> = this.#enqueue(() => {
      if (this.#writeError) throw this.#writeError;
      return this.#db.snapshot();
    });
    const plan = this.#inc.plan(checkpointId);
    const states: Record<string, StateKind> = {};
    for (const t of this.#byId) states[t.name] = t.kind;
    const tables = [...this.#byId];
    view.catch(() => {}); // awaited in run()
    return {
      run: async () => {
        const snap = await view;
        try {
          const counts = { keys: 0, chunks: 0 };
          const chunks = plan.kind === 'full' ? this.#fullChunks(snap, tables, counts) : this.#deltaChunks(snap, tables, plan, counts);
          return await this.#inc.writeSnapshot(this.options.storage, plan, { maxParallelism: this.maxParallelism, states }, chunks, counts);
        } finally {
          await snap.close();
        }
      },
    };
  }

  /**
   * Scans the key-group range at the snapshot: runs of one state in one key group become chunks.
   * Each `nextv` is a trip through libuv's thread pool that completes only when the event loop
   * comes round, and while records flow the run loop hands the event loop a turn once per slice
   * (src/actors/scheduler.ts, which the task layer asks through `runLoopBusy`): so the scan reads big batches (classic-level stops a `nextv` at
   * `highWaterMarkBytes`, 16 KiB by default, about 800 of this backend's small entries) and asks
   * for the next batch before it encodes the current one, so that LevelDB reads while the
   * encoder and the records run.
   */
  async *#fullChunks(snap: DbSnapshot, tables: LevelTable[], counts: { keys: number; chunks: number }): AsyncGenerator<StoredChunk> {
    const it = this.#db.iterator({
      snapshot: snap,
      gte: keyGroupPrefix(this.keyGroupRange.start),
      lt: keyGroupPrefix(this.keyGroupRange.end + 1),
      ...CLASSIC_SCAN_OPTIONS,
    });
    let chunk: StoredChunk | null = null;
    let prefix = '';
    const busy = this.#runLoopBusy;
    const batch = () => (busy() ? SCAN_ENTRIES_BUSY : SCAN_ENTRIES_IDLE);
    let reading: Promise<Array<[string, string]>> | null = it.nextv(batch());
    try {
      for (;;) {
        const entries = await reading;
        reading = null;
        if (entries.length === 0) break;
        reading = it.nextv(batch());
        for (const [k, v] of entries) {
          if (!chunk || !k.startsWith(prefix) || chunk.keys.length === CHUNK_ENTRIES) {
            if (chunk) yield chunk;
            const { keyGroup, stateId } = decodeKey(k);
            chunk = { keyGroup, state: tables[stateId]!.name, keys: [], keyOffset: KEY_PREFIX_CHARS, values: [], decodeKey: keyFromTag, decodeValue };
            prefix = k.slice(0, KEY_PREFIX_CHARS);
            counts.chunks++;
          }
          // keys and values go to the encoder as stored: a string key or a scalar value is never decoded
          chunk.keys.push(k);
          chunk.values.push(v);
          counts.keys++;
        }
      }
      if (chunk) yield chunk;
    } finally {
      // a read still under way (the consumer stopped early) must end before the iterator closes
      await reading?.catch(() => {});
      await it.close();
    }
  }

  /** Every key changed since the confirmed chain, as it was at the snapshot: a put, or a delete if gone. */
  async *#deltaChunks(
    snap: DbSnapshot,
    tables: LevelTable[],
    plan: Extract<SnapshotPlan<Changes>, { kind: 'delta' }>,
    counts: { keys: number; chunks: number },
  ): AsyncGenerator<StoredChunk> {
    const changes = LevelChangelog.merge(plan.segments);
    // sorted, so chunks come out by key group and state like a full scan (the prefix is ASCII)
    const sorted = [...changes.keys()].sort();
    const at = { snapshot: snap };
    let chunk: StoredChunk | null = null;
    let deletes: string[] = [];
    let prefix = '';
    let budget = performance.now() + 4;
    for (let i = 0; i < sorted.length; i++) {
      const k = sorted[i]!;
      if (!chunk || !k.startsWith(prefix) || chunk.keys.length + deletes.length === CHUNK_ENTRIES) {
        if (chunk) yield chunk;
        const { keyGroup, stateId } = decodeKey(k);
        deletes = [];
        chunk = { keyGroup, state: tables[stateId]!.name, keys: [], keyOffset: KEY_PREFIX_CHARS, values: [], deletes, decodeKey: keyFromTag, decodeValue };
        prefix = k.slice(0, KEY_PREFIX_CHARS);
        counts.chunks++;
      }
      // the value the last flush before the snapshot wrote (what LevelDB holds at it), or read there if not kept
      const change = changes.get(k);
      const stored = change === UNKEPT ? this.#get(k, at) : (change ?? undefined);
      // as stored, as in a full scan
      if (stored === undefined) deletes.push(k);
      else {
        chunk.keys.push(k);
        chunk.values.push(stored);
      }
      counts.keys++;
      if ((i & 255) === 255 && performance.now() > budget) {
        await yieldToLoop(); // a big delta must not block the run loop
        budget = performance.now() + 4;
      }
    }
    if (chunk) yield chunk;
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.#inc.confirm(checkpointId);
  }

  async restore(handles: StateHandle[]): Promise<void> {
    await this.#ready();
    await this.#tail;
    const { start, end } = this.keyGroupRange;
    for (const handle of handles) {
      await forEachSnapshotPart(handle, this.options.storage, async (header, chunks) => {
        if (header.maxParallelism !== this.maxParallelism) {
          throw new CheckpointError('FLOE_MAX_PARALLELISM_MISMATCH', `state was written with max parallelism ${header.maxParallelism}, the job has ${this.maxParallelism}`, {
            hint: 'keep pipeline.max-parallelism unchanged across restores',
          });
        }
        let batch = this.#db.batch();
        for (const chunk of chunks) {
          if (chunk.keyGroup < start || chunk.keyGroup > end) continue;
          const table = this.#table(chunk.state, header.states[chunk.state]!);
          const prefix = table.prefix(chunk.keyGroup, chunk.keyGroup - start);
          for (const key of chunk.deletes ?? []) batch.del(prefix + keyTag(key));
          for (const [key, value] of chunk.puts) batch.put(prefix + keyTag(key), encodeValue(value));
          if (batch.length >= RESTORE_BATCH) {
            await batch.write();
            batch = this.#db.batch();
          }
        }
        if (batch.length) await batch.write();
        else await batch.close();
      });
    }
    // the cache held the state before the restore
    for (const slot of this.#cache.values()) slot.cached = false;
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#evictable = new SlotQueue();
    this.#dirty = [];
    this.#stamp++;
    this.#inc.reset();
  }

  async dispose(): Promise<void> {
    await this.#tail;
    await this.#opening;
    if (this.#open) await this.#db.close();
    // LevelDB may still be finishing a background file when close() resolves: retry instead of failing on ENOTEMPTY
    await rm(this.location, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}
