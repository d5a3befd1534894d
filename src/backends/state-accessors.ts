// The keyed-state accessors (value, list, map, reducing, aggregating), written once over a backend's `_` methods for the current key.
import { lookupKey } from './keyed-snapshot-reader.ts';
import type {
  AggregatingState,
  AggregatingStateDescriptor,
  ListState,
  MapState,
  ReducingState,
  ReducingStateDescriptor,
  StateKind,
  ValueState,
  ValueStateDescriptor,
} from './types.ts';

/** What every backend's table of one registered state has: its name and its kind, fixed when it is registered. */
export interface KeyedStateTable {
  readonly name: string;
  readonly kind: StateKind;
}

/**
 * What an accessor asks of its backend, always about the current key (the last `setCurrentKey`):
 * the `_` methods each backend implements. A closing backend shadows them with `refusing` ones, so
 * accessors check nothing per call.
 */
export interface KeyedStateStore<T extends KeyedStateTable = KeyedStateTable> {
  /** the current key's value in `table`, or undefined when it has none */
  _get(table: T): unknown;
  /** stores `value` (undefined only when a user function returns it: it then reads back as absent) */
  _put(table: T, value: unknown): void;
  /** the current key has no value in `table` afterwards */
  _remove(table: T): void;
  /** the current key's container (made by `create` when absent), which the caller may change in place: recorded as written */
  _mutable<C extends object>(table: T, create: () => C, copy: (container: C) => C): C;
  /** `value` itself, or a copy when a snapshot may still hold it: the caller is about to change it in place */
  _unshared<V>(value: V): V;
  /** `_put` of a value no snapshot holds, which `_unshared` may later give back as it is */
  _putUnshared(table: T, value: unknown): void;
}

/** `_` methods that throw `refuse(table)`: what a closed backend answers its accessors with. */
export function refusing(refuse: (table: KeyedStateTable | undefined) => Error): KeyedStateStore {
  const fail = (table?: KeyedStateTable): never => {
    throw refuse(table);
  };
  return { _get: fail, _put: fail, _remove: fail, _mutable: fail, _unshared: () => fail(), _putUnshared: fail };
}

// Accessors are objects of closures over their backend and table, made once per state: at a call
// site that sees one accessor (a task's operator, one backend per process in the benches) V8 inlines
// the closure with its backend and table as constants, which methods reading them from fields of
// an accessor object do not get (measured on the heap, main-thread CPU per record: value updates
// 10% slower, an operator's read-modify-write 3%).

export function valueState<T>(store: KeyedStateStore, table: KeyedStateTable, descriptor: ValueStateDescriptor<T>): ValueState<T> {
  return {
    value: () => {
      const v = store._get(table) as T | undefined;
      return v === undefined ? descriptor.defaultValue : v;
    },
    update: (value: T) => (value === undefined ? store._remove(table) : store._put(table, value)),
    clear: () => store._remove(table),
  };
}

// creators and copiers of containers, made once: `_mutable` gets no closure per call
const newList = (): unknown[] => [];
const copyList = (list: unknown[]): unknown[] => [...list];
/** Map state's container: lookup key (a user key's canonical form) -> [user key, value]. */
type Entries = Map<unknown, [unknown, unknown]>;
const newMap = (): Entries => new Map();
const copyMap = (map: Entries): Entries => new Map(map);

/** Nothing to add stores nothing: no empty list is ever stored (`update([])` clears). */
export function listState<T>(store: KeyedStateStore, table: KeyedStateTable): ListState<T> {
  return {
    get: () => [...((store._get(table) as T[] | undefined) ?? [])],
    add: (value: T) => void store._mutable(table, newList, copyList).push(value),
    addAll: (values: Iterable<T>) => {
      let list: unknown[] | undefined;
      for (const v of values) (list ??= store._mutable(table, newList, copyList)).push(v);
    },
    update: (values: Iterable<T>) => {
      const fresh = [...values];
      if (fresh.length === 0) store._remove(table);
      else store._putUnshared(table, fresh);
    },
    clear: () => store._remove(table),
  };
}

/**
 * User keys may be tuples: entries are found by the key's lookup form and keep the key itself
 * beside the value. Nothing to put stores nothing, and removing the last entry clears: no empty
 * map is ever stored. Iterators run over a copy taken when they are made.
 */
export function mapState<K, V>(store: KeyedStateStore, table: KeyedStateTable): MapState<K, V> {
  const read = () => store._get(table) as Entries | undefined;
  const write = () => store._mutable(table, newMap, copyMap);
  return {
    get: (key) => read()?.get(lookupKey(key))?.[1] as V | undefined,
    put: (key, value) => void write().set(lookupKey(key), [key, value]),
    putAll: (entries) => {
      let map: Entries | undefined;
      for (const [k, v] of entries) (map ??= write()).set(lookupKey(k), [k, v]);
    },
    remove: (key) => {
      const lookup = lookupKey(key);
      if (!read()?.has(lookup)) return;
      const map = write();
      map.delete(lookup);
      if (map.size === 0) store._remove(table);
    },
    contains: (key) => read()?.has(lookupKey(key)) ?? false,
    entries: () => [...(read()?.values() ?? [])][Symbol.iterator]() as IterableIterator<[K, V]>,
    keys: () => Array.from(read()?.values() ?? [], (e) => e[0] as K)[Symbol.iterator](),
    values: () => Array.from(read()?.values() ?? [], (e) => e[1] as V)[Symbol.iterator](),
    isEmpty: () => (read()?.size ?? 0) === 0,
    clear: () => store._remove(table),
  };
}

export function reducingState<T>(store: KeyedStateStore, table: KeyedStateTable, descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
  return {
    get: () => store._get(table) as T | undefined,
    add: (value: T) => {
      const current = store._get(table) as T | undefined;
      store._put(table, current === undefined ? value : descriptor.reduce(current, value));
    },
    clear: () => store._remove(table),
  };
}

/** `add` may change the accumulator in place: it gets one no snapshot holds. */
export function aggregatingState<IN, ACC, OUT>(
  store: KeyedStateStore,
  table: KeyedStateTable,
  descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
): AggregatingState<IN, OUT> {
  const agg = descriptor.aggregate;
  return {
    get: () => {
      const acc = store._get(table) as ACC | undefined;
      return acc === undefined ? undefined : agg.getResult(acc);
    },
    add: (value: IN) => {
      const acc = store._get(table) as ACC | undefined;
      store._putUnshared(table, agg.add(value, acc === undefined ? agg.createAccumulator() : store._unshared(acc)));
    },
    clear: () => store._remove(table),
  };
}
