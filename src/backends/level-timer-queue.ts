// The level backend's timer queue: pending timers in LevelDB (canonical rows and an index by time), only the earliest few on the heap.
import { timerId, timerSortKey } from './timer-rows.ts';
import type { KeyedTimer, KeyedTimerQueue } from './types.ts';

/** A timer as the heap head holds it. */
export interface HeadTimer extends KeyedTimer {
  /** timerId: the canonical map-state key */
  readonly id: string;
  /** timerSortKey: its place in the index */
  readonly sk: string;
}

/** What the queue asks of its backend, for one timer state. */
export interface TimerRows {
  /** Writes (`present`) or deletes the timer's canonical row and index row through the backend's write overlay. */
  write(t: HeadTimer, present: boolean): void;
  /** Whether the timer's canonical row exists (the overlay first, then LevelDB). */
  has(keyGroup: number, id: string): boolean;
  /** Once every write so far is in LevelDB: up to `limit` timers of the index after sort key `after`, in order. */
  scan(after: string, limit: number): Promise<HeadTimer[]>;
}

/** Timers the heap holds after a load (it holds up to twice as many before it gives the latest back to LevelDB). */
export const HEAD_SIZE = 4096;

/** Sort-key order (time first: a number compare decides most pairs without reading the strings). */
const before = (a: HeadTimer, b: HeadTimer): boolean => a.ts < b.ts || (a.ts === b.ts && a.sk < b.sk);
const bySortKey = (a: HeadTimer, b: HeadTimer): number => (before(a, b) ? -1 : 1);

/** Above every sort key (they start with a hex digit): the bound of a head that holds every pending timer. */
export const TOP = '\u007f';

export const headTimer = (ts: number, key: unknown, keyGroup: number): HeadTimer => ({
  ts,
  key,
  keyGroup,
  id: timerId(ts, key),
  sk: timerSortKey(ts, keyGroup, key),
});

/**
 * Every timer is in LevelDB (written at the batch's end, with the state); the heap holds exactly the
 * pending timers whose sort key is at most `#bound`, a binary heap by sort key with lazy deletes. The
 * earliest pending timer is then the head's earliest whenever the head has any; an empty head with a
 * bound below TOP is refilled from the index (`load`), asynchronously. Changes beyond the bound
 * while a load is under way go into a journal that the load's result is corrected with (the
 * load's read of LevelDB may predate them).
 */
export class LevelTimerQueue implements KeyedTimerQueue {
  size = 0;
  #heap: HeadTimer[] = [];
  /** the live timers of the head */
  #byId = new Map<string, HeadTimer>();
  #bound = TOP;
  /**
   * the greatest sort key ever written or restored: a timer beyond it cannot be pending, so it needs
   * no read to find out (timers mostly come in time order: a record's time plus a delay, a window's end)
   */
  #highest = '';
  #loading: Promise<void> | null = null;
  /** changes beyond the bound since the running load's scan started: id → timer, or null when deleted */
  #journal: Map<string, HeadTimer | null> | null = null;

  constructor(
    readonly rows: TimerRows,
    readonly headSize = HEAD_SIZE,
    restored?: { count: number; head: HeadTimer[]; bound: string; highest: string },
  ) {
    if (restored) {
      this.size = restored.count;
      this.#bound = restored.bound;
      this.#highest = restored.highest;
      for (const t of restored.head) this.#push(t);
    }
  }

  get onHeap(): boolean {
    return this.#bound === TOP;
  }

  /** timers on the heap (specs) */
  get headCount(): number {
    return this.#byId.size;
  }

  add(ts: number, key: unknown, keyGroup: number): void {
    const t = headTimer(ts, key, keyGroup);
    if (t.sk <= this.#bound) {
      if (this.#byId.has(t.id)) return;
      this.#push(t);
      if (this.#byId.size > 2 * this.headSize && !this.#loading) this.#trim();
    } else {
      if (t.sk <= this.#highest && this.rows.has(keyGroup, t.id)) return;
      this.#journal?.set(t.id, t);
    }
    if (t.sk > this.#highest) this.#highest = t.sk;
    this.size++;
    this.rows.write(t, true);
  }

  remove(ts: number, key: unknown, keyGroup: number): void {
    const t = headTimer(ts, key, keyGroup);
    if (t.sk <= this.#bound) {
      const held = this.#byId.get(t.id);
      if (held === undefined) return;
      this.#byId.delete(t.id);
    } else {
      if (t.sk > this.#highest || !this.rows.has(keyGroup, t.id)) return;
      this.#journal?.set(t.id, null);
    }
    this.size--;
    this.rows.write(t, false);
  }

  peek(): HeadTimer | undefined {
    const heap = this.#heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      if (this.#byId.get(top.id) === top) return top;
      this.#pop(); // deleted while on the heap
    }
    return undefined;
  }

  poll(): HeadTimer | undefined {
    const t = this.peek();
    if (t === undefined) return undefined;
    this.#pop();
    this.#byId.delete(t.id);
    this.size--;
    this.rows.write(t, false);
    // half the head fired: the next timers are read while the rest fire (a failed read is met by the next load)
    if (this.#loading === null && this.#bound !== TOP && this.#byId.size < this.headSize >> 1) this.load().catch(() => {});
    return t;
  }

  load(): Promise<void> {
    if (this.#loading) return this.#loading;
    if (this.#bound === TOP) return Promise.resolve();
    const journal = (this.#journal = new Map());
    const after = this.#bound;
    const loading = this.rows.scan(after, this.headSize).then(
      (found) => {
        this.#journal = null;
        this.#loading = null;
        const bound = found.length < this.headSize ? TOP : found[found.length - 1]!.sk;
        for (const t of found) if (!journal.has(t.id) && !this.#byId.has(t.id)) this.#push(t);
        for (const t of journal.values()) if (t !== null && t.sk <= bound && !this.#byId.has(t.id)) this.#push(t);
        this.#bound = bound;
      },
      (error: unknown) => {
        this.#journal = null;
        this.#loading = null;
        throw error;
      },
    );
    this.#loading = loading;
    return loading;
  }

  /** Gives the latest timers of an overfull head back to LevelDB (they are there already): the bound moves down. */
  #trim(): void {
    const live = [...this.#byId.values()].sort(bySortKey);
    const kept = live.slice(0, this.headSize);
    this.#heap = kept;
    this.#byId = new Map(kept.map((t) => [t.id, t]));
    this.#bound = kept[kept.length - 1]!.sk;
  }

  #push(t: HeadTimer): void {
    // lazily deleted entries outnumbering the live ones are dropped first (a sorted array is a binary heap)
    if (this.#heap.length > 64 && this.#heap.length > 2 * this.#byId.size) {
      this.#heap = [...this.#byId.values()].sort(bySortKey);
    }
    this.#byId.set(t.id, t);
    const heap = this.#heap;
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(t, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = t;
  }

  #pop(): void {
    const a = this.#heap;
    const last = a.pop()!;
    if (a.length === 0) return;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(a[r]!, a[l]!) ? r : l;
      if (!before(a[c]!, last)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
  }
}
