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
import { decodeKey, encodeKey, keyFromTag, keyGroupPrefix, keyTag } from './level-key-codec.ts';
import { CHUNK_ENTRIES, encodeSnapshotStream, packr, prepend, type SnapshotChunk } from './snapshot-codec.ts';
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
}

type Db = Level<Buffer, Buffer>;
type DbSnapshot = ReturnType<Db['snapshot']>;

/** One key's state in the overlay: what recent batches read or wrote; `undefined` value = absent/deleted. */
interface Slot {
  table: LevelTable;
  tag: string;
  dbKey: Buffer;
  value: unknown;
  /** written since its last flush */
  dirty: boolean;
  /** the flush generation that last covered it: the slot leaves the overlay when that write is on disk */
  gen: number;
}

/** A registered state: its id in the key prefix and its overlay for the current batch. */
class LevelTable {
  overlay = new Map<string, Slot>();
  constructor(readonly id: number, readonly name: string, readonly kind: StateKind) {}
}

/** Map state lives in LevelDB as [k, v][] and in the overlay as lookup key -> [k, v]. */
type InnerMap = Map<unknown, [unknown, unknown]>;

const toStored = (kind: StateKind, value: unknown): unknown => (kind === 'map' ? [...(value as InnerMap).values()] : value);
const fromStored = (kind: StateKind, stored: unknown): unknown =>
  kind === 'map' ? new Map((stored as Array<[unknown, unknown]>).map((e) => [lookupKey(e[0]), e])) : stored;

/** Changed keys since the previous snapshot: per state, tag -> LevelDB key. */
type Changes = Map<LevelTable, Map<string, Buffer>>;

const RESTORE_BATCH = 10_000;
/** slots gathered in the overlay while a write is in flight before the task waits for it */
const MAX_GATHERED = 16_384;

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
  /** slots created or written since the last flush (generation `#gen`) */
  #touched: Slot[] = [];
  #gen = 0;
  /** the last queued LevelDB operation (writes and snapshot creation run in order) */
  #tail: Promise<unknown> = Promise.resolve();
  /** the batch write still on its way to disk, if any: the next flush waits for it (one write in flight) */
  #pendingWrite: Promise<void> | null = null;
  #writeError: unknown = null;
  #key: unknown;
  #tag = '';
  #kg = 0;
  readonly #inc: IncrementalSnapshots<Changes>;

  constructor(readonly options: KeyedBackendOptions, backendOptions: LevelBackendOptions = {}) {
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = options.keyGroupRange;
    const safe = (s: string) => s.replace(/[^\w.-]/g, '_');
    this.location = join(backendOptions.localDir ?? join(tmpdir(), 'floe-level'), safe(options.jobId), `${safe(options.operatorUid)}-${options.subtaskIndex}-${nanoid(8)}`);
    this.#db = new Level<Buffer, Buffer>(this.location, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 16 << 20, cacheSize: 64 << 20 } as never);
    // the directory is new and empty: until it is open, a read that misses the overlay finds nothing
    this.#opening = this.#db.open({ createIfMissing: true, errorIfExists: true }).then(
      () => void (this.#open = true),
      (cause) => {
        this.#openError = new CheckpointError('FLOE_LEVEL_OPEN_FAILED', `cannot open the level backend's working directory ${this.location}: ${(cause as Error).message}`, {
          cause,
          hint: 'point state.backend.level.localdir at a writable local directory with free space',
        });
      },
    );
    this.#inc = new IncrementalSnapshots<Changes>(backendOptions, () => new Map(), (c) => {
      let n = 0;
      for (const m of c.values()) n += m.size;
      return n;
    });
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
    const tag = this.#tag;
    let slot = table.overlay.get(tag);
    if (slot) return slot;
    const dbKey = encodeKey(this.#kg, table.id, tag);
    // a blind write needs no read; until the database is open it is new and empty
    const stored = read && this.#open ? this.#db.getSync(dbKey) : undefined;
    slot = { table, tag, dbKey, value: stored === undefined ? undefined : fromStored(table.kind, packr.unpack(stored)), dirty: false, gen: this.#gen };
    table.overlay.set(tag, slot);
    this.#touched.push(slot);
    return slot;
  }

  #read(table: LevelTable): unknown {
    return this.#slot(table, true).value;
  }

  #write(table: LevelTable, value: unknown): void {
    const slot = this.#slot(table, false);
    slot.value = value;
    if (slot.dirty) return;
    slot.dirty = true;
    if (slot.gen !== this.#gen) {
      slot.gen = this.#gen;
      this.#touched.push(slot);
    }
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
   * Writes the slots touched since the last flush in one batch. The write overlaps the next data
   * batches: its slots stay in the overlay (read-your-writes) until it is on disk. One write is in
   * flight at a time; batches that end meanwhile gather and go in the next write (group commit),
   * and past MAX_GATHERED slots the task waits (backpressure). A snapshot forces a flush.
   */
  #flush(force = false): Promise<void> | undefined {
    if (this.#writeError) return Promise.reject(this.#writeError);
    if (this.#touched.length === 0) return undefined;
    if (this.#pendingWrite && !force) {
      // group commit: while a write is on its way, batches gather in the overlay, up to a bound
      if (this.#touched.length < MAX_GATHERED) return undefined;
      return this.#pendingWrite.then(() => this.#flush());
    }
    const slots = this.#touched;
    const gen = this.#gen++;
    this.#touched = [];
    const changes = this.#inc.current;
    const ops: Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }> = [];
    for (const slot of slots) {
      if (!slot.dirty) continue;
      slot.dirty = false;
      ops.push(slot.value === undefined ? { type: 'del', key: slot.dbKey } : { type: 'put', key: slot.dbKey, value: packr.pack(toStored(slot.table.kind, slot.value)) });
      if (changes) {
        let m = changes.get(slot.table);
        if (!m) changes.set(slot.table, (m = new Map()));
        m.set(slot.tag, slot.dbKey);
      }
    }
    const drop = () => {
      for (const slot of slots) if (slot.gen === gen && slot.table.overlay.get(slot.tag) === slot) slot.table.overlay.delete(slot.tag);
    };
    if (ops.length === 0 && !this.#pendingWrite) {
      drop(); // only reads: nothing to wait for
      return undefined;
    }
    const write: Promise<void> = this.#enqueue(() => (ops.length ? this.#db.batch(ops as never) : undefined)).then(drop, (error) => {
      this.#writeError ??= error;
      throw error;
    });
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

  endBatch(): void | Promise<void> {
    return this.#flush();
  }

  snapshot(checkpointId: number): SnapshotRunner {
    // the overlay goes to LevelDB first; the LevelDB snapshot is opened right after that write, before any later one
    void this.#flush(true)?.catch(() => {}); // a failed write fails the snapshot below too
    const view: Promise<DbSnapshot> = this.#enqueue(() => {
      if (this.#writeError) throw this.#writeError;
      return this.#db.snapshot();
    });
    const plan = this.#inc.plan(checkpointId);
    const states: Record<string, StateKind> = {};
    for (const t of this.#byId) states[t.name] = t.kind;
    const header = { kind: plan.kind, maxParallelism: this.maxParallelism, states };
    const tables = [...this.#byId];
    const scope = this.#inc.enabled ? 'shared' : 'exclusive';
    view.catch(() => {}); // awaited in run()
    return {
      run: async () => {
        const snap = await view;
        try {
          const counts = { keys: 0, chunks: 0 };
          const chunks = plan.kind === 'full' ? this.#fullChunks(snap, tables, counts) : this.#deltaChunks(snap, tables, plan, counts);
          const stream = encodeSnapshotStream(header, chunks);
          const first = await stream.next();
          if (plan.kind === 'full' && counts.chunks === 0) return null;
          if (plan.kind === 'delta' && counts.chunks === 0) return this.#inc.written(plan, null, 0);
          const part = await this.options.storage.write(checkpointId, scope, prepend(first.value as Uint8Array, stream));
          return this.#inc.enabled ? this.#inc.written(plan, part, counts.keys) : part;
        } finally {
          await snap.close();
        }
      },
    };
  }

  /** Scans the key-group range at the snapshot: runs of one state in one key group become chunks. */
  async *#fullChunks(snap: DbSnapshot, tables: LevelTable[], counts: { keys: number; chunks: number }): AsyncGenerator<SnapshotChunk> {
    const it = this.#db.iterator({
      snapshot: snap,
      gte: keyGroupPrefix(this.keyGroupRange.start),
      lt: keyGroupPrefix(this.keyGroupRange.end + 1),
    });
    let chunk: SnapshotChunk | null = null;
    let stateId = -1;
    try {
      for (;;) {
        const entries = await it.nextv(CHUNK_ENTRIES);
        if (entries.length === 0) break;
        for (const [k, v] of entries) {
          const { keyGroup, stateId: id, tag } = decodeKey(k);
          if (!chunk || chunk.keyGroup !== keyGroup || stateId !== id || chunk.puts.length === CHUNK_ENTRIES) {
            if (chunk) yield chunk;
            chunk = { keyGroup, state: tables[id]!.name, puts: [] };
            stateId = id;
            counts.chunks++;
          }
          chunk.puts.push([keyFromTag(tag), packr.unpack(v)]);
          counts.keys++;
        }
      }
      if (chunk) yield chunk;
    } finally {
      await it.close();
    }
  }

  /** Every key changed since the confirmed chain, read at the snapshot: a put, or a delete if gone. */
  async *#deltaChunks(
    snap: DbSnapshot,
    tables: LevelTable[],
    plan: Extract<SnapshotPlan<Changes>, { kind: 'delta' }>,
    counts: { keys: number; chunks: number },
  ): AsyncGenerator<SnapshotChunk> {
    const keys = new Map<string, Buffer>();
    for (const seg of plan.segments) for (const [table, changed] of seg) for (const [tag, dbKey] of changed) keys.set(`${table.id}:${tag}`, dbKey);
    // sorted, so chunks come out by key group and state like a full scan
    const sorted = [...keys.values()].sort(Buffer.compare);
    let chunk: SnapshotChunk | null = null;
    let stateId = -1;
    let budget = performance.now() + 4;
    for (const dbKey of sorted) {
      const { keyGroup, stateId: id, tag } = decodeKey(dbKey);
      if (!chunk || chunk.keyGroup !== keyGroup || stateId !== id || chunk.puts.length + chunk.deletes!.length === CHUNK_ENTRIES) {
        if (chunk) yield chunk;
        chunk = { keyGroup, state: tables[id]!.name, puts: [], deletes: [] };
        stateId = id;
        counts.chunks++;
      }
      const stored = this.#db.getSync(dbKey, { snapshot: snap });
      if (stored === undefined) chunk.deletes!.push(keyFromTag(tag));
      else chunk.puts.push([keyFromTag(tag), packr.unpack(stored)]);
      counts.keys++;
      if (performance.now() > budget) {
        await yieldToLoop();
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
        let ops: Array<{ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer }> = [];
        for (const chunk of chunks) {
          if (chunk.keyGroup < start || chunk.keyGroup > end) continue;
          const table = this.#table(chunk.state, header.states[chunk.state]!);
          for (const key of chunk.deletes ?? []) ops.push({ type: 'del', key: encodeKey(chunk.keyGroup, table.id, keyTag(key)) });
          for (const [key, value] of chunk.puts) ops.push({ type: 'put', key: encodeKey(chunk.keyGroup, table.id, keyTag(key)), value: packr.pack(value) });
          if (ops.length >= RESTORE_BATCH) {
            await this.#db.batch(ops as never);
            ops = [];
          }
        }
        if (ops.length) await this.#db.batch(ops as never);
      });
    }
    for (const t of this.#byId) t.overlay.clear();
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
