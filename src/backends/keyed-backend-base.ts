// The keyed-backend base, in abstract-level's style: public methods check the lifecycle, the key group and the state kind, then call the `_` methods each backend implements.
import { CheckpointError, StateBackendError } from '../errors.ts';
import { assignToKeyGroup } from './key-groups.ts';
import { forEachSnapshotPart } from './keyed-snapshot-reader.ts';
import type { SnapshotChunk } from './snapshot-codec.ts';
import {
  aggregatingState,
  listState,
  mapState,
  reducingState,
  refusing,
  valueState,
  type KeyedStateStore,
  type KeyedStateTable,
} from './state-accessors.ts';
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  KeyedBackendOptions,
  KeyedBackendStatus,
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

export type { KeyedStateTable } from './state-accessors.ts';

// the lifecycle as an integer, so that a check is one compare: usable while below CLOSING
const OPENING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const STATUS: readonly KeyedBackendStatus[] = ['opening', 'open', 'closing', 'closed'];
/** `currentKeyGroup` of a key made current without hashing it */
const UNHASHED = -2;

/** A chunk of a snapshot being restored, in this backend's key groups, with its state's table. */
export type RestoredChunk<T> = readonly [table: T, chunk: SnapshotChunk];

/**
 * What every keyed backend shares: the lifecycle (`opening → open → closing → closed`), the key
 * group of the current key, the registry of states (a name keeps its kind), the accessors, and the
 * checks of a restore. A backend implements the `_` methods: the current key's value per table
 * (`_get`, `_put`, `_remove` and, where snapshots share values, `_mutable`, `_unshared`,
 * `_putUnshared`), batches, snapshots, restore and dispose.
 *
 * Per record the base costs what the backends cost before it: `setCurrentKey` refuses a key group
 * out of range and a closed backend with one compare (the range's end is -1 once closing), and
 * accessors check nothing (a closing backend shadows its `_` methods with ones that throw).
 */
export abstract class AbstractKeyedBackend<T extends KeyedStateTable> implements KeyedStateBackend, KeyedStateStore<T> {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  /** the key the last `setCurrentKey` set */
  protected currentKey: unknown;
  /** the registered states by name, in registration order */
  protected readonly tables = new Map<string, T>();
  /** one accessor per state, made on its first `get*State` */
  readonly #accessors = new Map<T, object>();
  #status = OPENING;
  readonly #firstKeyGroup: number;
  /** the range's last key group while the backend is usable, -1 from `dispose()` on */
  #lastKeyGroup: number;
  #disposing: Promise<void> | null = null;

  constructor(readonly options: KeyedBackendOptions) {
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = options.keyGroupRange;
    this.#firstKeyGroup = options.keyGroupRange.start;
    this.#lastKeyGroup = options.keyGroupRange.end;
  }

  get status(): KeyedBackendStatus {
    return STATUS[this.#status]!;
  }

  // ---- the public methods: check, then call the implementation ----

  setCurrentKey(key: unknown, keyGroup?: number): void {
    const kg = keyGroup ?? assignToKeyGroup(key, this.maxParallelism);
    if (kg < this.#firstKeyGroup || kg > this.#lastKeyGroup) this.#refuseKey(key, kg);
    this.currentKey = key;
    this.#currentKeyGroup = kg;
    this._setCurrentKey(key, kg, keyGroup === undefined);
  }

  /** the current key's group: -1 before any key, UNHASHED until asked for when the key was set without hashing it */
  #currentKeyGroup = -1;

  /** The key group of the key the last `setCurrentKey` set (timers keep it instead of hashing the key again). */
  get currentKeyGroup(): number {
    if (this.#currentKeyGroup === UNHASHED) this.#currentKeyGroup = assignToKeyGroup(this.currentKey, this.maxParallelism);
    return this.#currentKeyGroup;
  }

  /**
   * For a backend owning every key group, where no key can be out of range: makes `key` current without
   * hashing it (its group is found when asked for). The caller checks the lifecycle.
   */
  protected _setCurrentKeyUnhashed(key: unknown): void {
    this.currentKey = key;
    this.#currentKeyGroup = UNHASHED;
  }

  /** Makes `key` current, in `keyGroup`, which the backend knows is the key's and in its range. The caller checks the lifecycle. */
  protected _setCurrentKeyKnown(key: unknown, keyGroup: number): void {
    this.currentKey = key;
    this.#currentKeyGroup = keyGroup;
  }

  /** The key the last `setCurrentKey` set (after `dispose()` too: it is only a value). */
  getCurrentKey(): unknown {
    return this.currentKey;
  }

  getState<V>(descriptor: ValueStateDescriptor<V>): ValueState<V> {
    const table = this.#register(descriptor);
    return (this.#accessors.get(table) as ValueState<V> | undefined) ?? this.#keep(table, valueState<V>(this, table, descriptor));
  }

  getListState<V>(descriptor: ListStateDescriptor<V>): ListState<V> {
    const table = this.#register(descriptor);
    return (this.#accessors.get(table) as ListState<V> | undefined) ?? this.#keep(table, listState<V>(this, table));
  }

  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    const table = this.#register(descriptor);
    return (this.#accessors.get(table) as MapState<K, V> | undefined) ?? this.#keep(table, mapState<K, V>(this, table));
  }

  getReducingState<V>(descriptor: ReducingStateDescriptor<V>): ReducingState<V> {
    const table = this.#register(descriptor);
    return (this.#accessors.get(table) as ReducingState<V> | undefined) ?? this.#keep(table, reducingState<V>(this, table, descriptor));
  }

  getAggregatingState<IN, ACC, OUT>(descriptor: AggregatingStateDescriptor<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    const table = this.#register(descriptor);
    return (
      (this.#accessors.get(table) as AggregatingState<IN, OUT> | undefined) ??
      this.#keep(table, aggregatingState<IN, ACC, OUT>(this, table, descriptor))
    );
  }

  endBatch(): void | Promise<void> {
    if (this.#status > OPEN) throw this.#closedError('endBatch()');
    return this._endBatch();
  }

  snapshot(checkpointId: number): SnapshotRunner {
    if (this.#status > OPEN) throw this.#closedError(`snapshot(${checkpointId})`);
    return this._snapshot(checkpointId);
  }

  /** A notice about the past: a closed backend has no use for it and drops it (a task may hear of a checkpoint while it closes). */
  notifyCheckpointComplete(checkpointId: number): void {
    if (this.#status < CLOSING) this._notifyCheckpointComplete(checkpointId);
  }

  async restore(handles: StateHandle[]): Promise<void> {
    if (this.#status > OPEN) throw this.#closedError('restore()');
    await this._restore(handles);
  }

  /**
   * Closes the backend: from this call on every use throws FLOE_STATE_BACKEND_CLOSED (accessors
   * taken before it too); the status is `closed` once the implementation freed its resources. A
   * second call waits for the first (a failing task's chain may be closed twice).
   */
  dispose(): Promise<void> {
    if (this.#disposing) return this.#disposing;
    this.#status = CLOSING;
    this.#lastKeyGroup = -1;
    // accessors call the `_` methods on this object: shadowed by ones that throw, they refuse without a check per call
    // (the object's shape changes, so code V8 optimised for the open backend is dropped, once)
    Object.assign(
      this,
      refusing((table) => this.#closedError(table ? `state '${table.name}'` : 'keyed state')),
    );
    this.#disposing = this.#close();
    return this.#disposing;
  }

  async #close(): Promise<void> {
    try {
      await this._dispose();
    } finally {
      this.#status = CLOSED;
      this.tables.clear();
      this.#accessors.clear();
    }
  }

  // ---- what each backend implements ----

  /**
   * Makes the current key `key`, in this backend's key group `keyGroup` (checked already); `hashed`:
   * the group is the key's own (its hash's), not one the caller gave.
   */
  protected abstract _setCurrentKey(key: unknown, keyGroup: number, hashed: boolean): void;

  /** A table for a state registered now (the name is new). */
  protected abstract _createTable(name: string, kind: StateKind): T;
  abstract _get(table: T): unknown;
  abstract _put(table: T, value: unknown): void;
  abstract _remove(table: T): void;
  protected abstract _endBatch(): void | Promise<void>;
  protected abstract _snapshot(checkpointId: number): SnapshotRunner;
  protected abstract _notifyCheckpointComplete(checkpointId: number): void;
  protected abstract _restore(handles: StateHandle[]): Promise<void>;
  protected abstract _dispose(): void | Promise<void>;

  /**
   * By default a backend's values are its own (level decodes each one it reads from LevelDB), so a
   * container is changed in place and put again to mark it written; the heap backend, whose values
   * snapshots share, copies first.
   */
  _mutable<C extends object>(table: T, create: () => C, _copy: (container: C) => C): C {
    const container = (this._get(table) as C | undefined) ?? create();
    this._put(table, container);
    return container;
  }

  _unshared<V>(value: V): V {
    return value;
  }

  _putUnshared(table: T, value: unknown): void {
    this._put(table, value);
  }

  // ---- for the implementations ----

  /** The working store is ready (at once for heap backends): `opening` becomes `open`. */
  protected _opened(): void {
    if (this.#status === OPENING) this.#status = OPEN;
  }

  /** The table of state `name`, registered now if new; a registered name keeps its kind. */
  protected _table(name: string, kind: StateKind): T {
    let table = this.tables.get(name);
    if (!table) {
      table = this._createTable(name, kind);
      this.tables.set(name, table);
    } else if (table.kind !== kind) {
      throw new TypeError(`state '${name}' is ${table.kind} state, not ${kind}`);
    }
    return table;
  }

  /** Every registered state's kind by name, as a snapshot's header lists them. */
  protected _stateKinds(): Record<string, StateKind> {
    const states: Record<string, StateKind> = {};
    for (const t of this.tables.values()) states[t.name] = t.kind;
    return states;
  }

  /**
   * Reads each handle's parts in order (a full snapshot, then deltas) and hands `apply` each part's
   * chunks of this backend's key groups, with their tables. Snapshots of another max parallelism
   * are refused: their key groups are not these.
   */
  protected async _forEachRestoredPart(
    handles: StateHandle[],
    apply: (chunks: Iterable<RestoredChunk<T>>) => void | Promise<void>,
  ): Promise<void> {
    for (const handle of handles) {
      await forEachSnapshotPart(handle, this.options.storage, (header, chunks) => {
        if (header.maxParallelism !== this.maxParallelism) {
          throw new CheckpointError(
            'FLOE_MAX_PARALLELISM_MISMATCH',
            `state was written with max parallelism ${header.maxParallelism}, the job has ${this.maxParallelism}`,
            {
              hint: 'keep pipeline.max-parallelism unchanged across restores',
            },
          );
        }
        return apply(this.#inRange(chunks, header.states));
      });
    }
  }

  *#inRange(chunks: Iterable<SnapshotChunk>, states: Record<string, StateKind>): Generator<RestoredChunk<T>> {
    const { start, end } = this.keyGroupRange;
    for (const chunk of chunks) {
      if (chunk.keyGroup < start || chunk.keyGroup > end) continue;
      yield [this._table(chunk.state, states[chunk.state]!), chunk];
    }
  }

  // ---- checks ----

  /** The table of the state a `get*State` call names (a name keeps its kind); its accessor is made once. */
  #register(descriptor: StateDescriptor): T {
    if (this.#status > OPEN) throw this.#closedError(`state '${descriptor.name}'`);
    return this._table(descriptor.name, descriptor.kind);
  }

  #keep<S extends object>(table: T, accessor: S): S {
    this.#accessors.set(table, accessor);
    return accessor;
  }

  #refuseKey(key: unknown, kg: number): never {
    if (this.#status > OPEN) throw this.#closedError('setCurrentKey()');
    const { start, end } = this.keyGroupRange;
    throw new CheckpointError(
      'FLOE_KEY_GROUP_OUT_OF_RANGE',
      `key ${String(key)} is in key group ${kg}, outside this subtask's range ${start}-${end}`,
      {
        hint: 'the key selector must return the same key for a record every time it is called',
      },
    );
  }

  #closedError(use: string): StateBackendError {
    const { operatorUid, subtaskIndex } = this.options;
    return new StateBackendError(
      'FLOE_STATE_BACKEND_CLOSED',
      `${use} used after the keyed state backend of operator '${operatorUid}' (subtask ${subtaskIndex}) was closed (status ${this.status})`,
      {
        hint: "use keyed state only while its operator is open (from open() to close()): a task's backend closes with the task, and a restarted task gets a new one",
      },
    );
  }
}
