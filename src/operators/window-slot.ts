// One event-time window of every key, on the JS heap (Flink's window as the state namespace): what the window operator holds between checkpoints on heap backends.
import type { TimeWindow } from './window-assigners.ts';
import { WindowContents } from './window-contents.ts';

/** Stands for contents that are `undefined` (a reduce over undefined records): a missing entry is `undefined`. */
export const UNDEFINED_CONTENTS = Symbol('floe.undefined-contents');

/**
 * The contents of one window for each key that has it. Records of a window and its keys are found by
 * one map lookup, a window fires by walking its map (no timer per key), and it is dropped whole
 * after its allowed lateness. Keyed state (and the window timers in it) are written from here when
 * the operator snapshots: the snapshot holds what the per-key path would have held.
 */
export class WindowSlot {
  /** lookup key → contents (the value, or UNDEFINED_CONTENTS), in the order the keys came into the window */
  readonly contents: WindowContents;
  /** lookup key → key, for keys that are not their own lookup key (objects, -0) */
  keys: Map<unknown, unknown> | null = null;
  /** its last timestamp (end - 1) is at or below the watermark: it fired (a late record fires it again) */
  fired: boolean;
  /** written to keyed state at a snapshot: the keys changed since are in `dirty` (or all of them, `dirtyAll`) */
  flushed = false;
  dirty: Set<unknown> | null = null;
  dirtyAll = false;
  readonly window: TimeWindow;

  constructor(
    readonly start: number,
    readonly end: number,
    fired: boolean,
    /** about how many keys it will hold (the window before it had): its index is sized for them */
    expectedKeys = 0,
  ) {
    this.contents = new WindowContents(expectedKeys);
    this.window = Object.freeze({ start, end });
    this.fired = fired;
  }

  /** The key of a lookup key. */
  keyOf(lookup: unknown): unknown {
    return this.keys === null ? lookup : (this.keys.get(lookup) ?? lookup);
  }

  /** A key's contents changed: listed for the next snapshot if an earlier one wrote this window. */
  touched(lookup: unknown): void {
    if (this.flushed && !this.dirtyAll) (this.dirty ??= new Set()).add(lookup);
  }
}
