// Operator (non-keyed) list state: a source's read position, a sink's pending transactions.
import type { ListState, OperatorStateSnapshot } from './types.ts';

type Mode = 'split' | 'union';

class OperatorListState<T> implements ListState<T> {
  items: T[] = [];
  constructor(readonly mode: Mode) {}
  get(): T[] {
    return this.items;
  }
  add(value: T): void {
    this.items.push(value);
  }
  addAll(values: Iterable<T>): void {
    for (const v of values) this.items.push(v);
  }
  update(values: Iterable<T>): void {
    this.items = [...values];
  }
  clear(): void {
    this.items = [];
  }
}

export class OperatorStateStore {
  readonly #states = new Map<string, OperatorListState<unknown>>();
  /** restored items per state name, waiting for the operator to ask for its state */
  readonly #restored = new Map<string, { mode: Mode; items: unknown[] }>();

  /** Split list state: on rescale its items are divided evenly among the new subtasks. */
  getListState<T>(name: string): ListState<T> {
    return this.#get<T>(name, 'split');
  }

  /** Union list state: on restore every subtask receives all items of all old subtasks. */
  getUnionListState<T>(name: string): ListState<T> {
    return this.#get<T>(name, 'union');
  }

  #get<T>(name: string, mode: Mode): ListState<T> {
    let state = this.#states.get(name);
    if (!state) {
      state = new OperatorListState<unknown>(mode);
      const restored = this.#restored.get(name);
      if (restored) state.items = [...restored.items];
      this.#states.set(name, state);
    } else if (state.mode !== mode) {
      throw new TypeError(`operator state '${name}' was registered as ${state.mode} list state, not ${mode}`);
    }
    return state as unknown as ListState<T>;
  }

  /** Copies the current lists: items are captured by value so later changes do not leak in. */
  snapshot(): OperatorStateSnapshot {
    const out: OperatorStateSnapshot = {};
    for (const [name, state] of this.#states) out[name] = { mode: state.mode, items: structuredClone(state.items) };
    // state restored but never asked for again stays in the snapshot (no silent loss)
    for (const [name, restored] of this.#restored) if (!out[name]) out[name] = restored;
    return out;
  }

  /**
   * Loads the state of `subtaskIndex` out of `parallelism` from the snapshots of all old subtasks
   * (any old parallelism): split items round-robin, union items to everyone.
   */
  restore(snapshots: OperatorStateSnapshot[], subtaskIndex: number, parallelism: number): void {
    const merged = new Map<string, { mode: Mode; items: unknown[] }>();
    for (const snap of snapshots) {
      for (const [name, { mode, items }] of Object.entries(snap)) {
        const entry = merged.get(name) ?? { mode, items: [] };
        entry.items.push(...items);
        merged.set(name, entry);
      }
    }
    for (const [name, { mode, items }] of merged) {
      const mine =
        mode === 'union' || (snapshots.length === parallelism && snapshots.length === 1)
          ? items
          : snapshots.length === parallelism
            ? (snapshots[subtaskIndex]?.[name]?.items ?? [])
            : items.filter((_, i) => i % parallelism === subtaskIndex);
      this.#restored.set(name, { mode, items: mine });
    }
  }
}
