// The level backend's slots: one key of one state as the backend last saw it (write overlay and decoded-value cache in one), their tables, sizes and eviction queue.
import { lookupKey } from './keyed-snapshot-reader.ts';
import { statePrefix } from './level-key-codec.ts';
import type { StateKind } from './types.ts';

/** A registered state: its id in the key prefix, and its key prefixes per local key group. */
export class LevelTable {
  readonly prefixes: string[] = [];
  /**
   * A timer state's (timer-rows.ts): in LevelDB one row per timer (key: the key group's prefix, then
   * the timer's id) instead of one map value per key, gathered into that map value in snapshots
   */
  timers = false;
  constructor(
    readonly id: number,
    readonly name: string,
    readonly kind: StateKind,
  ) {}
  prefix(keyGroup: number, local: number): string {
    return (this.prefixes[local] ??= statePrefix(keyGroup, this.id));
  }
}

/**
 * One key's state as the backend last saw it: the overlay of the write path (dirty, or on its way
 * to disk) and the decoded-value cache in one map entry. `undefined` value = absent/deleted.
 */
export interface Slot {
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
export const estimate = (key: string, valueChars: number) => SLOT_BYTES + 2 * key.length + 2 * valueChars;

/** A FIFO of slots (an array with a moving head, compacted as it drains). */
export class SlotQueue {
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

/** Map state lives in LevelDB as [k, v][] and in the cache as lookup key -> [k, v]. */
type InnerMap = Map<unknown, [unknown, unknown]>;

export const toStored = (kind: StateKind, value: unknown): unknown => (kind === 'map' ? [...(value as InnerMap).values()] : value);
export const fromStored = (kind: StateKind, stored: unknown): unknown =>
  kind === 'map' ? new Map((stored as Array<[unknown, unknown]>).map((e) => [lookupKey(e[0]), e])) : stored;
