// The contents of one window for each key that has it: a Map's interface, integer keys found through an open-addressing index.

/** A deleted entry's key (an entry keeps its position: the order of the others does not change). */
const DELETED = Symbol('floe.deleted-window-entry');

/** Fibonacci hashing: the high bits of key × 2^32/φ spread consecutive and strided keys alike. */
const GOLDEN = 0x9e3779b1;

/** An integer key of the index: a 32-bit integer (-0 included: it is 0 here, as in a Map). */
const isIndexed = (key: unknown): key is number => typeof key === 'number' && (key | 0) === key;

/**
 * The window operator's per-key contents of one window (Flink keeps them as state per key and window
 * namespace). Entries sit in insertion order in two arrays, as a Map keeps them, so a window fires its
 * keys in the order they came in. Integer keys (ids, the usual numeric keys) are found through an
 * open-addressing index of positions, other keys through a Map (a window whose first key is not an
 * integer is a plain Map: see #map). A lookup touches the index and the
 * entry, not a Map's bucket chain, and a window that fills as the one before it did is not copied and
 * rehashed at every doubling (see #room). On the path a record takes per window: `find`, then
 * `valueAt`/`setAt` or `insert` (one probe where a Map takes a get and a set).
 */
export class WindowContents {
  #keys: unknown[];
  #values: unknown[];
  /** positions used (deleted ones included) */
  #count = 0;
  /** live entries */
  #size = 0;
  /** integer key → position + 1 (0: empty), open addressing with linear probing; null until the first integer key */
  #index: Int32Array | null = null;
  #shift = 32;
  /** integer keys in the index (deleted ones included: their slots stay taken) */
  #indexed = 0;
  /** about how many keys the window will hold (see #room) */
  readonly #expected: number;
  /** other keys → position */
  #other: Map<unknown, number> | null = null;
  /**
   * A window whose first key is not an integer (strings, objects' lookup keys) is a plain Map of key →
   * contents instead (a Map alone is what such keys cost least in): `find` then remembers the key and
   * its contents for `valueAt`/`setAt`, and positions are 0 (held) or -1.
   */
  #map: Map<unknown, unknown> | null = null;
  #foundKey: unknown = undefined;
  #found: unknown = undefined;

  /** `expected`: about how many keys the window will hold (a hint; it grows past it) */
  constructor(expected = 0) {
    this.#expected = expected;
    this.#keys = [];
    this.#values = [];
  }

  get size(): number {
    return this.#map !== null ? this.#map.size : this.#size;
  }

  /** The position of `key`, or a negative number (`insert` takes it) when the window does not hold it. */
  find(key: unknown): number {
    const map = this.#map;
    if (map !== null) {
      const v = map.get(key);
      if (v === undefined && !map.has(key)) return -1;
      this.#foundKey = key;
      this.#found = v;
      return 0;
    }
    if (isIndexed(key)) {
      const index = this.#index;
      if (index === null) return -1;
      const mask = index.length - 1;
      const keys = this.#keys;
      for (let slot = Math.imul(key, GOLDEN) >>> this.#shift; ; slot = (slot + 1) & mask) {
        const p = index[slot]!;
        if (p === 0) return -1 - slot;
        if (keys[p - 1] === key) return p - 1;
      }
    }
    const p = this.#other?.get(key);
    return p === undefined ? -1 : p;
  }

  valueAt(position: number): unknown {
    return this.#map !== null ? this.#found : this.#values[position];
  }

  setAt(position: number, value: unknown): void {
    if (this.#map !== null) this.#map.set(this.#foundKey, value);
    else this.#values[position] = value;
  }

  /** Adds `key` (not held: `missing` is what `find` returned for it, with no change since). */
  insert(missing: number, key: unknown, value: unknown): void {
    if (this.#map === null && this.#count === 0 && !isIndexed(key)) this.#map = new Map();
    if (this.#map !== null) {
      this.#map.set(key, value);
      return;
    }
    const p = this.#count++;
    if (p === this.#keys.length) this.#growEntries();
    this.#size++;
    if (isIndexed(key)) {
      const k = key | 0; // -0 is 0, as a Map keeps it
      this.#keys[p] = k;
      this.#values[p] = value;
      const index = this.#index;
      if (index !== null && (this.#indexed + 1) * 2 <= index.length) index[-1 - missing] = p + 1;
      else {
        this.#resize(2 * Math.max(8, this.#room()));
        this.#place(k, p);
      }
      this.#indexed++;
      return;
    }
    this.#keys[p] = key;
    this.#values[p] = value;
    (this.#other ??= new Map()).set(key, p);
  }

  /**
   * How many entries to make room for when full: twice as many, and once the window holds a sixteenth
   * of the keys the window before it had, all of those at once (not a copy and a rehash per doubling).
   * A window that stays small (a few late keys) stays small.
   */
  #room(): number {
    const twice = this.#count * 2;
    return this.#count * 16 >= this.#expected ? Math.max(twice, this.#expected) : twice;
  }

  /** Longer entry arrays (holey, written in place up to their length: no growth per push). */
  #growEntries(): void {
    const length = Math.max(16, this.#room());
    const keys: unknown[] = new Array(length);
    const values: unknown[] = new Array(length);
    for (let p = 0; p < this.#count - 1; p++) {
      keys[p] = this.#keys[p];
      values[p] = this.#values[p];
    }
    this.#keys = keys;
    this.#values = values;
  }

  get(key: unknown): unknown {
    if (this.#map !== null) return this.#map.get(key);
    const p = this.find(key);
    return p >= 0 ? this.#values[p] : undefined;
  }

  has(key: unknown): boolean {
    return this.find(key) >= 0;
  }

  set(key: unknown, value: unknown): this {
    const p = this.find(key);
    if (p >= 0) this.setAt(p, value);
    else this.insert(p, key, value);
    return this;
  }

  delete(key: unknown): boolean {
    if (this.#map !== null) return this.#map.delete(key);
    const p = this.find(key);
    if (p < 0) return false;
    // the index keeps pointing at the position (a deleted key matches nothing): probe chains stay whole
    if (!isIndexed(key)) this.#other!.delete(key);
    this.#keys[p] = DELETED;
    this.#values[p] = undefined;
    this.#size--;
    return true;
  }

  /** Calls `fn` for each entry in insertion order (firing a window: no iterator object per key). */
  forEach(fn: (value: unknown, key: unknown) => void): void {
    if (this.#map !== null) return this.#map.forEach(fn);
    const keys = this.#keys;
    const values = this.#values;
    for (let p = 0; p < this.#count; p++) {
      const key = keys[p];
      if (key !== DELETED) fn(values[p], key);
    }
  }

  *entries(): IterableIterator<[unknown, unknown]> {
    if (this.#map !== null) return yield* this.#map.entries();
    for (let p = 0; p < this.#count; p++) if (this.#keys[p] !== DELETED) yield [this.#keys[p], this.#values[p]];
  }

  *keys(): IterableIterator<unknown> {
    if (this.#map !== null) return yield* this.#map.keys();
    for (let p = 0; p < this.#count; p++) if (this.#keys[p] !== DELETED) yield this.#keys[p];
  }

  *values(): IterableIterator<unknown> {
    if (this.#map !== null) return yield* this.#map.values();
    for (let p = 0; p < this.#count; p++) if (this.#keys[p] !== DELETED) yield this.#values[p];
  }

  [Symbol.iterator](): IterableIterator<[unknown, unknown]> {
    return this.entries();
  }

  /** A new index of `capacity` slots (a power of two) with every integer key's position, deleted ones left out. */
  #resize(capacity: number): void {
    let size = 16;
    while (size < capacity) size *= 2;
    this.#index = new Int32Array(size);
    this.#shift = 32 - Math.log2(size);
    this.#indexed = 0;
    const keys = this.#keys;
    for (let p = 0; p < this.#count - 1; p++) {
      const k = keys[p];
      if (isIndexed(k)) {
        this.#place(k, p);
        this.#indexed++;
      }
    }
  }

  #place(key: number, position: number): void {
    const index = this.#index!;
    const mask = index.length - 1;
    let slot = Math.imul(key, GOLDEN) >>> this.#shift;
    while (index[slot] !== 0) slot = (slot + 1) & mask;
    index[slot] = position + 1;
  }
}
