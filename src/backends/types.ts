// State primitives, descriptors, key groups and snapshot handles shared by every backend.

/** An inclusive range of key groups owned by one subtask. */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export interface ListState<T> {
  get(): T[];
  add(value: T): void;
  addAll(values: Iterable<T>): void;
  update(values: Iterable<T>): void;
  clear(): void;
}

export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  putAll(entries: Iterable<[K, V]>): void;
  remove(key: K): void;
  contains(key: K): boolean;
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
  clear(): void;
}

export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}

export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
}

export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

export interface ValueStateDescriptor<T> {
  kind: 'value';
  name: string;
  defaultValue?: T;
}
export interface ListStateDescriptor<T> {
  kind: 'list';
  name: string;
  _t?: T;
}
export interface MapStateDescriptor<K, V> {
  kind: 'map';
  name: string;
  _k?: K;
  _v?: V;
}
export interface ReducingStateDescriptor<T> {
  kind: 'reducing';
  name: string;
  reduce: (a: T, b: T) => T;
}
export interface AggregatingStateDescriptor<IN, ACC, OUT> {
  kind: 'aggregating';
  name: string;
  aggregate: AggregateFunction<IN, ACC, OUT>;
}
export type StateDescriptor =
  | ValueStateDescriptor<any>
  | ListStateDescriptor<any>
  | MapStateDescriptor<any, any>
  | ReducingStateDescriptor<any>
  | AggregatingStateDescriptor<any, any, any>;

/** Snapshot handles are part of the checkpoint model (src/checkpoint): every layer above reads them. */
import type { StateHandle } from '../checkpoint/state-handles.ts';
export type { OperatorStateSnapshot, StateHandle } from '../checkpoint/state-handles.ts';

/** Who owns snapshot bytes: one checkpoint (`exclusive`, deleted with it) or possibly later ones too (`shared`, reference-counted). */
export type SnapshotScope = 'exclusive' | 'shared';

/**
 * A subtask's access to checkpoint storage, one per operator subtask: backends write the bytes of
 * their snapshots through it and read them back on restore. The memory storage keeps bytes (capped);
 * the file storage writes files under the checkpoint directory (small ones inlined).
 */
export interface TaskStateStorage {
  /** Writes one snapshot part; `data` may be streamed in chunks. Resolves when it is durable. */
  write(checkpointId: number, scope: SnapshotScope, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<StateHandle>;
  /** Reads a `bytes` or `file` handle back (checksum verified); `incremental` handles are resolved by the backend. */
  read(handle: StateHandle): Promise<Uint8Array>;
}

/**
 * The canonical keyed-state snapshot: every backend writes and reads it, so snapshots can be
 * split by key group (rescaling) and moved between backends. Encoded with msgpackr.
 */
export interface KeyedStateSnapshot {
  format: 1;
  maxParallelism: number;
  /** state name -> kind, for every registered state */
  states: Record<string, StateKind>;
  /** one entry per non-empty key group, ascending */
  groups: KeyGroupSnapshot[];
}

export interface KeyGroupSnapshot {
  keyGroup: number;
  /** state name -> [key, value] pairs; list state values are arrays, map state values are [k, v][] */
  entries: Record<string, Array<[unknown, unknown]>>;
}

/** What a backend's synchronous snapshot phase returns: the asynchronous part, run while processing goes on. */
export interface SnapshotRunner {
  /** Serialises the captured view and writes it; resolves with the handle, or null for empty state. */
  run(): Promise<StateHandle | null>;
}

/**
 * Where a keyed backend is in its life (abstract-level's statuses): `opening` until its working
 * store is ready (state may be used already: a level backend holds writes until LevelDB is open),
 * `open`, then `closing` from the call to `dispose()` and `closed` once it resolved. From `closing`
 * on every use throws FLOE_STATE_BACKEND_CLOSED.
 */
export type KeyedBackendStatus = 'opening' | 'open' | 'closing' | 'closed';

/** A pending timer of one key (the key group is its key's). */
export interface KeyedTimer {
  readonly ts: number;
  readonly key: unknown;
  readonly keyGroup: number;
}

/**
 * The pending timers of one timer state kept by a backend itself (`timerStore`): the level backend
 * keeps them in LevelDB, in the canonical form (map state under TIMERS_KEY per key group, see
 * timer-rows.ts) plus an index by time, with only the earliest few on the heap. One timer per key and
 * timestamp. Changes go through the backend's write path (written at `endBatch`, in every snapshot).
 */
export interface KeyedTimerQueue {
  /** pending timers */
  readonly size: number;
  /** Registers a timer (nothing happens if it is pending already). */
  add(ts: number, key: unknown, keyGroup: number): void;
  /** Deletes a timer (nothing happens if it is not pending). */
  remove(ts: number, key: unknown, keyGroup: number): void;
  /**
   * The earliest pending timer if the heap holds it; undefined when the heap part is empty: then
   * either none is pending (`onHeap`) or `load()` brings the next ones.
   */
  peek(): KeyedTimer | undefined;
  /** Takes out the timer `peek()` returned (it is gone from the store too). */
  poll(): KeyedTimer | undefined;
  /** every pending timer is on the heap (no `load()` needed) */
  readonly onHeap: boolean;
  /** Reads the next earliest timers from the store onto the heap. */
  load(): Promise<void>;
}

export interface KeyedStateBackend {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly status: KeyedBackendStatus;
  /** Sets the key that state accessors read and write. `keyGroup` is computed when omitted. */
  setCurrentKey(key: unknown, keyGroup?: number): void;
  getCurrentKey(): unknown;
  /** the key group of the current key (-1 before any); optional for backends outside this package */
  readonly currentKeyGroup?: number;
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  /**
   * The timers of timer state `name` kept off the heap (level): when a backend offers this, the timer
   * service keeps its timers there instead of in its heap queue. One queue per name.
   */
  timerStore?(name: string): KeyedTimerQueue;
  /** Called after every data batch: backends that buffer writes (level) flush here. */
  endBatch(): void | Promise<void>;
  /** Synchronous part of a snapshot: captures a consistent view; later writes do not change it. */
  snapshot(checkpointId: number): SnapshotRunner;
  /**
   * The coordinator completed `checkpointId`: incremental backends build their next delta on its
   * chain (without these calls every snapshot is a full materialisation). Optional for old callers.
   */
  notifyCheckpointComplete?(checkpointId: number): void;
  /** Loads the key groups of this backend's range from snapshots of any parallelism. */
  restore(handles: StateHandle[]): Promise<void>;
  /** Closes the backend and frees its working state; a second call waits for the first. */
  dispose(): Promise<void>;
}

export interface KeyedBackendOptions {
  jobId: string;
  operatorUid: string;
  subtaskIndex: number;
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
  /** where this subtask's snapshots go */
  storage: TaskStateStorage;
  /**
   * Whether the process's run loop is busy (its last slice ended with tasks still ready, so I/O
   * completions wait a slice each): long background reads take bigger batches then. Given by the
   * task layer; without it the run loop counts as idle.
   */
  runLoopBusy?: () => boolean;
}

export interface StateBackendFeatures {
  incremental: boolean;
  /** working state kept off the JS heap */
  offHeap: boolean;
}

/** A state backend preset (`state.backend.type`): makes keyed backends for operator subtasks. */
export interface StateBackend {
  readonly name: string;
  readonly features: StateBackendFeatures;
  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend;
  /** Before the job's first task: claims and checks the backend's local directories; throws a coded error when they are unusable. */
  prepareJob?(jobId: string): Promise<void>;
  /** After the job ended (finished, failed, canceled): closes what its tasks left open and removes its local directories. */
  releaseJob?(jobId: string): Promise<void>;
}
