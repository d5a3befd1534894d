// Keyed state in one LevelDB per subtask (level preset): a per-batch overlay, one batch() write per data batch, snapshots from a LevelDB snapshot.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Level } from 'level';
import { nanoid } from 'nanoid';
import { CheckpointError, UnrecoverableError } from '../errors.ts';
import { IncrementalSnapshots, type IncrementalOptions } from './incremental-snapshots.ts';
import { AbstractKeyedBackend } from './keyed-backend-base.ts';
import { LevelChangelog } from './level-changelog.ts';
import { keyTag, statePrefix } from './level-key-codec.ts';
import { estimate, fromStored, LevelTable, SlotQueue, toStored, type Slot } from './level-slot.ts';
import { deltaChunks, fullChunks, getStored, type Db, type DbSnapshot } from './level-snapshot-scan.ts';
import { HEAD_SIZE, LevelTimerQueue, type HeadTimer, type TimerRows } from './level-timer-queue.ts';
import { INDEX_KEYS, indexKeyPrefix, restoreTimerRows, scanTimerIndex, timerIndexBound } from './level-timer-rows.ts';
import { decodeValue, encodeValue, VALUE_ENCODING } from './level-value-codec.ts';
import { dirNameOf } from './local-working-dir.ts';
import { describeCause, isPermanentSystemError } from './system-error.ts';
import { isTimerState } from './timer-rows.ts';
import type {
  KeyedBackendOptions,
  KeyedTimerQueue,
  MapState,
  MapStateDescriptor,
  SnapshotRunner,
  StateHandle,
  StateKind,
} from './types.ts';

/** level (LevelDB, a native addon) is loaded by the first level backend: a run with another backend starts without it. */
let LevelClass: typeof Level | undefined;
const loadLevel = (): typeof Level => (LevelClass ??= (createRequire(import.meta.url)('level') as { Level: typeof Level }).Level);

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
  /** keyed timers a timer queue holds on the heap after a load (default 4096, see level-timer-queue.ts); specs make it small */
  timerHeadSize?: number;
}

export const DEFAULT_CACHE_BYTES = 16 << 20;

/** Where the working directories go when `state.backend.level.localdir` is not set. */
export const DEFAULT_LEVEL_LOCAL_DIR = join(tmpdir(), 'floe-level');

/** Changed keys since the previous snapshot: their LevelDB keys (state and key group are in the prefix) and values as written. */
type Changes = LevelChangelog;

const RESTORE_BATCH = 10_000;
/** dirty slots gathered while a write is in flight before the task waits for it */
export const MAX_GATHERED = 4096;

export class LevelKeyedBackend extends AbstractKeyedBackend<LevelTable> {
  /** this subtask attempt's LevelDB directory */
  readonly location: string;
  readonly #db: Db;
  readonly #opening: Promise<void>;
  #open = false;
  #openError: unknown = null;
  /** the registered states by id (the id is in their LevelDB keys) */
  readonly #byId: LevelTable[] = [];
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
  /**
   * timer rows (level-timer-rows.ts) written since the last flush, in order: LevelDB keys and
   * encoded values (null: delete). They skip the slot cache (nothing reads a timer's rows soon)
   */
  #rowKeys: string[] = [];
  #rowValues: Array<string | null> = [];
  /** canonical timer rows not on disk yet: LevelDB key → flush generation * 2 + (1 if present) (read-your-writes of `has`) */
  readonly #rowOverlay = new Map<string, number>();
  #gen = 0;
  /** the last flush generation whose write is on disk */
  #durable = 0;
  /** the last queued LevelDB operation (writes and snapshot creation run in order) */
  #tail: Promise<unknown> = Promise.resolve();
  /** the batch write still on its way to disk, if any: the next flush waits for it (one write in flight) */
  #pendingWrite: Promise<void> | null = null;
  #writeError: unknown = null;
  #tag = '';
  #kg = 0;
  /** bumped by setCurrentKey and endBatch: the remembered slot is valid only within one stamp */
  #stamp = 0;
  #last: { stamp: number; table: LevelTable | null; slot: Slot | null } = { stamp: -1, table: null, slot: null };
  readonly #inc: IncrementalSnapshots<Changes>;
  readonly #runLoopBusy: () => boolean;
  readonly #timerHeadSize: number;
  /** the timer queues by timer state name (timerStore) */
  readonly #timerQueues = new Map<string, LevelTimerQueue>();
  /** what a restore read of each timer state: its pending count and earliest timers, for its queue */
  #restoredTimers = new Map<string, { count: number; head: HeadTimer[]; bound: string; highest: string }>();
  /** reads that found the key in the cache / that went to LevelDB (observability and specs) */
  readonly stats = { hits: 0, misses: 0 };

  constructor(options: KeyedBackendOptions, backendOptions: LevelBackendOptions = {}) {
    super(options);
    this.#cacheLimit = Math.max(0, backendOptions.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.#timerHeadSize = Math.max(1, backendOptions.timerHeadSize ?? HEAD_SIZE);
    this.location = join(
      backendOptions.localDir ?? DEFAULT_LEVEL_LOCAL_DIR,
      dirNameOf(options.jobId),
      `${dirNameOf(options.operatorUid)}-${options.subtaskIndex}-${nanoid(8)}`,
    );
    // 16 MiB memtables and a 64 MiB block cache; LevelDB's bloom filters (10 bits/key) are on in classic-level
    this.#db = new (loadLevel())<string, string>(this.location, {
      keyEncoding: 'utf8',
      valueEncoding: VALUE_ENCODING,
      writeBufferSize: 16 << 20,
      cacheSize: 64 << 20,
    } as never);
    // the directory is new and empty: until it is open, a read that misses the cache finds nothing
    this.#opening = this.#db.open({ createIfMissing: true, errorIfExists: true }).then(
      () => void (this.#open = true),
      (cause) => void (this.#openError = openFailure(this.location, cause)),
    );
    this.#inc = new IncrementalSnapshots<Changes>(
      backendOptions,
      () => new LevelChangelog(backendOptions.changelogValueChars),
      (c) => c.size,
    );
    // a failed open leaves the status `opening`: the operations that need LevelDB report the failure, as they did
    void this.#opening.then(() => this.#open && this._opened());
    this.#runLoopBusy = options.runLoopBusy ?? (() => false);
  }

  async #ready(): Promise<void> {
    await this.#opening;
    if (this.#openError) throw this.#openError;
  }

  protected _setCurrentKey(key: unknown, keyGroup: number): void {
    this.#tag = keyTag(key);
    this.#kg = keyGroup;
    this.#stamp++;
  }

  protected _createTable(name: string, kind: StateKind): LevelTable {
    const table = new LevelTable(this.#byId.length, name, kind);
    if (table.id > 0xffff) throw new RangeError('the level backend holds at most 65536 states per operator');
    table.timers = isTimerState(name);
    this.#byId.push(table);
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
      const stored = read && this.#open ? getStored(this.#db, key) : undefined;
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

  _get(table: LevelTable): unknown {
    return this.#slot(table, true).value;
  }

  _put(table: LevelTable, value: unknown): void {
    const slot = this.#slot(table, false);
    slot.value = value;
    if (slot.dirty) return;
    slot.dirty = true;
    this.#dirty.push(slot);
  }

  _remove(table: LevelTable): void {
    if (this._get(table) !== undefined) this._put(table, undefined);
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
    if (this.#dirty.length === 0 && this.#rowKeys.length === 0) return undefined;
    if (this.#pendingWrite && !force) {
      // group commit: while a write is on its way, batches gather in the cache, up to a bound
      if (this.#dirty.length + (this.#rowKeys.length >> 1) < MAX_GATHERED) return undefined;
      return this.#pendingWrite.then(() => this.#flush());
    }
    const slots = this.#dirty;
    const gen = ++this.#gen;
    this.#dirty = [];
    const rowKeys = this.#rowKeys;
    const rowValues = this.#rowValues;
    this.#rowKeys = [];
    this.#rowValues = [];
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
    for (let i = 0; i < rowKeys.length; i++) {
      const key = rowKeys[i]!;
      const value = rowValues[i]!;
      if (value === null) {
        if (chained) chained.del(key);
        else ops.push({ type: 'del', key });
      } else if (chained) chained.put(key, value);
      else ops.push({ type: 'put', key, value });
      // canonical rows (in key groups) go into deltas, read back whole per key group (deltaChunks): no value
      // kept; index rows (past every key group) are in no snapshot
      if (changes && key < INDEX_KEYS) changes.record(key, null);
    }
    const write: Promise<void> = this.#enqueue(() => (chained ? chained.write() : this.#db.batch(ops))).then(
      () => {
        this.#durable = gen;
        const overlay = this.#rowOverlay;
        for (const key of rowKeys) if (overlay.get(key)! >> 1 === gen) overlay.delete(key);
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

  /** Timer states are this backend's own (timerStore): map state accessors would see one value per key, not their rows. */
  override getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    if (isTimerState(descriptor.name))
      throw new TypeError(`state '${descriptor.name}' holds timers: use timerStore() on the level backend`);
    return super.getMapState(descriptor);
  }

  /** The timers of timer state `name`, in LevelDB (see LevelTimerQueue); restored ones are in it already. */
  timerStore(name: string): KeyedTimerQueue {
    let queue = this.#timerQueues.get(name);
    if (queue) return queue;
    if (this.disposed) throw new TypeError(`timerStore('${name}') after the backend was closed`);
    const table = this._table(name, 'map');
    const restored = this.#restoredTimers.get(name);
    this.#restoredTimers.delete(name);
    queue = new LevelTimerQueue(this.#timerRows(table), this.#timerHeadSize, restored);
    this.#timerQueues.set(name, queue);
    return queue;
  }

  #timerRows(table: LevelTable): TimerRows {
    const name = table.name;
    const start = this.keyGroupRange.start;
    const indexPrefix = indexKeyPrefix(table.id);
    return {
      write: (t, present) => {
        const key = table.prefix(t.keyGroup, t.keyGroup - start) + keyTag(t.id);
        // the next flush's generation: the entry leaves the overlay once that write is on disk
        this.#rowOverlay.set(key, (this.#gen + 1) * 2 + (present ? 1 : 0));
        this.#rowKeys.push(key, indexPrefix + t.sk);
        if (present) this.#rowValues.push(encodeValue([t.ts, t.key], name), encodeValue(t.key, name));
        else this.#rowValues.push(null, null);
      },
      has: (keyGroup, id) => {
        const key = table.prefix(keyGroup, keyGroup - start) + keyTag(id);
        const written = this.#rowOverlay.get(key);
        if (written !== undefined) return (written & 1) === 1;
        return this.#open && getStored(this.#db, key) !== undefined;
      },
      scan: (after, limit) => {
        // every write so far goes to LevelDB first; the scan is queued after it
        void this.#flush(true)?.catch(() => {});
        return this.#enqueue(() => {
          if (this.#writeError) throw this.#writeError;
          return scanTimerIndex(this.#db, table.id, after, limit);
        });
      },
    };
  }

  protected _endBatch(): void | Promise<void> {
    this.#stamp++; // eviction below may drop the remembered slot
    const flushed = this.#flush();
    if (this.#cacheBytes > this.#cacheLimit) this.#evict();
    return flushed;
  }

  /** Slots in the decoded-value cache and their estimated heap bytes (observability and specs). */
  cacheSize(): { entries: number; bytes: number } {
    return { entries: this.#cache.size, bytes: this.#cacheBytes };
  }

  protected _snapshot(checkpointId: number): SnapshotRunner {
    // the dirty slots go to LevelDB first; the LevelDB snapshot is opened right after that write, before any later one
    void this.#flush(true)?.catch(() => {}); // a failed write fails the snapshot below too
    const view: Promise<DbSnapshot> = this.#enqueue(() => {
      if (this.#writeError) throw this.#writeError;
      return this.#db.snapshot();
    });
    const plan = this.#inc.plan(checkpointId);
    const states = this._stateKinds();
    const tables = [...this.#byId];
    view.catch(() => {}); // awaited in run()
    return {
      run: async () => {
        const snap = await view;
        try {
          const counts = { keys: 0, chunks: 0 };
          const chunks =
            plan.kind === 'full'
              ? fullChunks(this.#db, snap, this.keyGroupRange, tables, this.#runLoopBusy, counts)
              : deltaChunks(this.#db, snap, tables, plan, counts);
          return await this.#inc.writeSnapshot(this.options.storage, plan, { maxParallelism: this.maxParallelism, states }, chunks, counts);
        } finally {
          await snap.close();
        }
      },
    };
  }

  protected _notifyCheckpointComplete(checkpointId: number): void {
    this.#inc.confirm(checkpointId);
  }

  protected async _restore(handles: StateHandle[]): Promise<void> {
    await this.#ready();
    await this.#tail;
    const { start } = this.keyGroupRange;
    /** timer states' key groups written by an earlier part: a later part's value replaces their rows */
    const timerGroups = new Set<string>();
    await this._forEachRestoredPart(handles, async (chunks) => {
      let batch = this.#db.batch();
      for (const [table, chunk] of chunks) {
        const prefix = table.prefix(chunk.keyGroup, chunk.keyGroup - start);
        if (table.timers) {
          if (timerGroups.has(prefix)) {
            if (batch.length) await batch.write();
            else await batch.close();
            await this.#db.clear({ gte: prefix, lt: statePrefix(chunk.keyGroup, table.id + 1) });
            batch = this.#db.batch();
          }
          timerGroups.add(prefix);
          restoreTimerRows(batch, prefix, chunk);
          if (batch.length >= RESTORE_BATCH) {
            await batch.write();
            batch = this.#db.batch();
          }
          continue;
        }
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
    // the timers' index and their earliest ones, for the timer queues the operators open next
    this.#restoredTimers = new Map();
    for (const table of this.#byId) {
      if (table.timers)
        this.#restoredTimers.set(
          table.name,
          await timerIndexBound(this.#db, table, this.keyGroupRange, this.#timerHeadSize, RESTORE_BATCH),
        );
    }
    // the cache held the state before the restore
    for (const slot of this.#cache.values()) slot.cached = false;
    this.#cache.clear();
    this.#cacheBytes = 0;
    this.#evictable = new SlotQueue();
    this.#dirty = [];
    this.#rowKeys = [];
    this.#rowValues = [];
    this.#rowOverlay.clear();
    this.#stamp++;
    this.#inc.reset();
  }

  protected async _dispose(): Promise<void> {
    await this.#tail;
    await this.#opening;
    if (this.#openError) {
      // a task that never wrote (or whose input ended first) meets the cause here, not a removal under an unusable path
      await rm(this.location, { recursive: true, force: true }).catch(() => {});
      throw this.#openError;
    }
    if (this.#open) await this.#db.close();
    // LevelDB may still be finishing a background file when close() resolves: retry instead of failing on ENOTEMPTY
    await rm(this.location, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }

  /** dispose() was called: the job's end need not close this one again */
  get disposed(): boolean {
    return this.status === 'closing' || this.status === 'closed';
  }
}

/**
 * The open failure with its real cause: classic-level says only "Database failed to open", the
 * system error (ENOTDIR, EACCES, ...) is its cause. One a restart meets again fails the job at once.
 */
function openFailure(location: string, cause: unknown): Error {
  const message = `cannot open the level backend's working directory ${location}: ${describeCause(cause)}`;
  const hint = 'point state.backend.level.localdir at a writable local directory with free space';
  return isPermanentSystemError(cause)
    ? new UnrecoverableError('FLOE_LEVEL_LOCALDIR_UNUSABLE', message, { cause, hint })
    : new CheckpointError('FLOE_LEVEL_OPEN_FAILED', message, { cause, hint });
}
