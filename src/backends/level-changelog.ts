// The level backend's changelog segment: keys changed since a snapshot, with the values they were last written with.

/** A change whose value was not kept (over the budget): the delta reads it from the LevelDB snapshot. */
export const UNKEPT = 0;

/** Value characters one segment keeps (about as many bytes of heap, Latin-1 strings); past it, keys only. */
export const KEPT_VALUE_CHARS = 4 << 20;

/**
 * LevelDB keys written since the previous snapshot, each with its value as the flush wrote it (the
 * state value format as Latin-1 text, the string handed to LevelDB anyway) or null for a delete.
 * The last flush before a snapshot is the state at it, so a delta is written from these values
 * without reading LevelDB (a `getSync` per changed key was most of an incremental checkpoint).
 * Values are kept up to a budget, so big values cannot pin the heap; past it only the key is kept
 * and the delta reads that value at the snapshot, as it did for every key before.
 */
export class LevelChangelog {
  readonly changes = new Map<string, string | null | typeof UNKEPT>();
  /** value characters kept (a key written twice counts twice: the budget errs on the safe side) */
  #chars = 0;

  constructor(readonly budget = KEPT_VALUE_CHARS) {}

  get size(): number {
    return this.changes.size;
  }

  record(key: string, value: string | null): void {
    if (value !== null) {
      if (this.#chars + value.length > this.budget) return void this.changes.set(key, UNKEPT);
      this.#chars += value.length;
    }
    this.changes.set(key, value);
  }

  /** The changes of `segments` (oldest first) by key, the latest winning; one segment is used as it is. */
  static merge(segments: LevelChangelog[]): Map<string, string | null | typeof UNKEPT> {
    if (segments.length === 1) return segments[0]!.changes;
    const merged = new Map<string, string | null | typeof UNKEPT>();
    for (const s of segments) for (const [k, v] of s.changes) merged.set(k, v);
    return merged;
  }
}
