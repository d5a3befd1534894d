// Keyed timers (Flink's InternalTimerService): event-time and processing-time timers kept as keyed state, partitioned by key group.
import type { KeyedStateBackend, MapState } from '../backends/types.ts';
import { assignToKeyGroup } from '../backends/key-groups.ts';
import { lookupKey } from '../backends/keyed-snapshot-reader.ts';
import { JobDefinitionError } from '../errors.ts';
import { MIN_WATERMARK } from './event-time.ts';

/** What a keyed function sees of time (Flink's TimerService). */
export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerEventTimeTimer(timestamp: number): void;
  deleteEventTimeTimer(timestamp: number): void;
  registerProcessingTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
}

export type TimeDomain = 'event' | 'processing';

/**
 * The timers of a key group are entries of one map state, held under a reserved key placed in that
 * key group: they are written with the keyed state, so every backend snapshots them (full and
 * incremental), savepoints carry them in the canonical format, and a rescale or a backend switch
 * moves them with their key groups. Entry: `<timestamp>\0<key id>` → [timestamp, key].
 *
 * They are written there when the operator snapshots (`flush`), not on each registration: a timer
 * registered and fired between two checkpoints (most of a window's) never touches the backend.
 */
export const TIMERS_KEY = '\u0000floe:timers';

interface Timer {
  readonly ts: number;
  readonly key: unknown;
  readonly keyGroup: number;
  /** in keyed state since the last flush */
  persisted: boolean;
  /** pending (not fired, not deleted) */
  live: boolean;
}

/** A binary min-heap of timestamps: the due ones are taken from its top. */
class TimestampHeap {
  readonly items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): number | undefined {
    return this.items[0];
  }
  push(ts: number): void {
    const a = this.items;
    a.push(ts);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= ts) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = ts;
  }
  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]! < a[l]! ? r : l;
      if (a[c]! >= last) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

function keyId(key: unknown): string {
  return typeof key === 'string' ? `s${key}` : typeof key === 'number' ? `n${key}` : `j${JSON.stringify(key)}`;
}

const timerId = (t: Timer): string => `${t.ts}\u0000${keyId(t.key)}`;

/**
 * The pending timers of one time domain, bucketed by timestamp (a window's timers share their
 * window's end): the heap holds each timestamp once, its bucket the keys (by lookup key) due then.
 */
class TimerQueue {
  readonly heap = new TimestampHeap();
  readonly buckets = new Map<number, Map<unknown, Timer>>();
  size = 0;
  /** registered since the last flush (some may be gone already: skipped then) */
  added: Timer[] = [];
  /** persisted ones deleted or fired since the last flush */
  removed: Timer[] = [];
  readonly state: MapState<string, [number, unknown]>;
  constructor(backend: KeyedStateBackend, name: string) {
    this.state = backend.getMapState<string, [number, unknown]>({ kind: 'map', name });
  }

  add(t: Timer): void {
    let bucket = this.buckets.get(t.ts);
    if (!bucket) {
      this.buckets.set(t.ts, (bucket = new Map()));
      this.heap.push(t.ts);
    }
    bucket.set(lookupKey(t.key), t);
    this.size++;
  }

  /** A new timer, to be written at the next flush (dead entries are dropped when they outnumber the pending timers). */
  register(t: Timer): void {
    this.add(t);
    const added = this.added;
    added.push(t);
    if (added.length > 4096 && added.length > 2 * this.size) this.added = added.filter((x) => x.live);
  }

  /** A timer left the queue: a persisted one must leave keyed state too, one never written is forgotten. */
  gone(t: Timer): void {
    this.size--;
    t.live = false;
    if (t.persisted) this.removed.push(t);
  }

  /** The earliest timestamp with timers (timestamps whose bucket emptied are dropped from the heap here). */
  earliest(): number | undefined {
    for (let ts = this.heap.peek(); ts !== undefined; ts = this.heap.peek()) {
      if (this.buckets.has(ts)) return ts;
      this.heap.pop();
    }
    return undefined;
  }
}

export interface TimerCallbacks {
  onEventTime(timestamp: number, key: unknown): void;
  onProcessingTime(timestamp: number, key: unknown): void;
}

export class InternalTimerService implements TimerService {
  readonly #backend: KeyedStateBackend;
  readonly #event: TimerQueue;
  readonly #processing: TimerQueue;
  #watermark = MIN_WATERMARK;
  #scheduled = Infinity;
  #timeout: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly name: string,
    backend: KeyedStateBackend,
    readonly callbacks: TimerCallbacks,
    readonly clock: () => number = Date.now,
    readonly requestWake: () => void = () => {},
  ) {
    this.#backend = backend;
    this.#event = new TimerQueue(backend, `_timer_state/event_${name}`);
    this.#processing = new TimerQueue(backend, `_timer_state/processing_${name}`);
  }

  /** Reads the restored timers of this subtask's key groups into the queues; overdue processing-time timers fire at the next step. */
  restore(): void {
    const { start, end } = this.#backend.keyGroupRange;
    const current = this.#backend.getCurrentKey();
    for (const q of [this.#event, this.#processing]) {
      for (let kg = start; kg <= end; kg++) {
        this.#backend.setCurrentKey(TIMERS_KEY, kg);
        for (const [, [ts, key]] of q.state.entries()) q.add({ ts, key, keyGroup: kg, persisted: true, live: true });
      }
    }
    if (current !== undefined) this.#backend.setCurrentKey(current);
    this.#schedule();
  }

  /**
   * Writes the timers registered and deleted since the last call into keyed state: called when the
   * operator snapshots, before its keyed state is captured.
   */
  flush(): void {
    const backend = this.#backend;
    const current = backend.getCurrentKey();
    for (const q of [this.#event, this.#processing]) {
      // removals first: a timer deleted and registered again is one id, put last
      for (const t of q.removed) {
        backend.setCurrentKey(TIMERS_KEY, t.keyGroup);
        q.state.remove(timerId(t));
        t.persisted = false;
      }
      for (const t of q.added) {
        if (!t.live || t.persisted) continue;
        backend.setCurrentKey(TIMERS_KEY, t.keyGroup);
        q.state.put(timerId(t), [t.ts, t.key]);
        t.persisted = true;
      }
      q.removed = [];
      q.added = [];
    }
    if (current !== undefined) backend.setCurrentKey(current);
  }

  /** pending timers (event, processing) */
  get counts(): { event: number; processing: number } {
    return { event: this.#event.size, processing: this.#processing.size };
  }

  currentProcessingTime(): number {
    return this.clock();
  }

  currentWatermark(): number {
    return this.#watermark;
  }

  registerEventTimeTimer(timestamp: number): void {
    this.#register(this.#event, timestamp, 'registerEventTimeTimer');
  }

  deleteEventTimeTimer(timestamp: number): void {
    this.#delete(this.#event, timestamp);
  }

  registerProcessingTimeTimer(timestamp: number): void {
    this.#register(this.#processing, timestamp, 'registerProcessingTimeTimer');
    if (timestamp < this.#scheduled) this.#schedule();
  }

  deleteProcessingTimeTimer(timestamp: number): void {
    this.#delete(this.#processing, timestamp);
  }

  /**
   * Writes (`present`) or removes one event-time timer of `key` in keyed state only, not in the queue:
   * for an operator whose timers are implied by what it holds in memory (the window operator's heap
   * windows fire by window, not by key) and must still be in its snapshots as if registered here, so
   * that any restore (another backend, another parallelism) fires them. Changes the backend's current key.
   */
  persistEventTimer(key: unknown, keyGroup: number, timestamp: number, present: boolean): void {
    const state = this.#persistedEventTimers(keyGroup);
    const id = `${timestamp}\u0000${keyId(key)}`;
    if (present) state.put(id, [timestamp, key]);
    else state.remove(id);
  }

  /** Whether keyed state holds this event-time timer of `key` (see persistEventTimer). Changes the backend's current key. */
  hasPersistedEventTimer(key: unknown, keyGroup: number, timestamp: number): boolean {
    return this.#persistedEventTimers(keyGroup).contains(`${timestamp}\u0000${keyId(key)}`);
  }

  #persistedEventTimers(keyGroup: number): MapState<string, [number, unknown]> {
    this.#backend.setCurrentKey(TIMERS_KEY, keyGroup);
    return (this.#persisted ??= this.#backend.getMapState<string, [number, unknown]>({
      kind: 'map',
      name: `_timer_state/event_${this.name}`,
    }));
  }

  #persisted: MapState<string, [number, unknown]> | undefined;

  /** The pending event-time timers, in no particular order. */
  eventTimers(): Array<{ ts: number; key: unknown; keyGroup: number }> {
    const out: Array<{ ts: number; key: unknown; keyGroup: number }> = [];
    for (const bucket of this.#event.buckets.values())
      for (const t of bucket.values()) out.push({ ts: t.ts, key: t.key, keyGroup: t.keyGroup });
    return out;
  }

  /**
   * Takes the pending event-time timers out of the queue without deleting them from keyed state: an
   * operator that keeps its timers itself (see persistEventTimer) adopts restored ones this way.
   */
  forgetEventTimers(): void {
    const q = this.#event;
    for (const bucket of q.buckets.values()) for (const t of bucket.values()) t.live = false;
    q.buckets.clear();
    q.heap.items.length = 0;
    q.size = 0;
    q.added = q.added.filter((t) => t.live);
  }

  /** Fires every event-time timer at or before `watermark`, oldest first, each under its key. */
  advanceWatermark(watermark: number): void {
    this.#watermark = watermark;
    this.#fire(this.#event, watermark, (ts, key) => this.callbacks.onEventTime(ts, key));
  }

  /** Fires the processing-time timers due at `now`. */
  onProcessingTime(now: number): void {
    const top = this.#processing.earliest();
    if (top === undefined || top > now) return;
    this.#fire(this.#processing, now, (ts, key) => this.callbacks.onProcessingTime(ts, key));
    this.#schedule();
  }

  dispose(): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = null;
  }

  #register(q: TimerQueue, timestamp: number, what: string): void {
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      throw new JobDefinitionError(
        'FLOE_BAD_TIMER',
        `${what}(${String(timestamp)}): a timer's time must be a finite number of epoch milliseconds`,
        {
          hint: 'e.g. ctx.timerService().registerEventTimeTimer(ctx.timestamp + 60_000)',
        },
      );
    }
    const key = this.#backend.getCurrentKey();
    if (key === undefined) {
      throw new JobDefinitionError('FLOE_TIMER_NOT_KEYED', `${what} outside a keyed context: timers belong to a key`, {
        hint: 'call .keyBy(...) before .process(...)',
      });
    }
    // one timer per key and timestamp
    if (q.buckets.get(timestamp)?.has(lookupKey(key))) return;
    const kg = this.#backend.currentKeyGroup;
    const keyGroup = kg === undefined || kg < 0 ? assignToKeyGroup(key, this.#backend.maxParallelism) : kg;
    q.register({ ts: timestamp, key, keyGroup, persisted: false, live: true });
  }

  #delete(q: TimerQueue, timestamp: number): void {
    const bucket = q.buckets.get(timestamp);
    if (!bucket) return;
    const lookup = lookupKey(this.#backend.getCurrentKey());
    const t = bucket.get(lookup);
    if (!t) return;
    bucket.delete(lookup);
    if (bucket.size === 0) q.buckets.delete(timestamp);
    q.gone(t);
  }

  #fire(q: TimerQueue, upTo: number, fire: (ts: number, key: unknown) => void): void {
    const backend = this.#backend;
    for (let ts = q.earliest(); ts !== undefined && ts <= upTo; ts = q.earliest()) {
      q.heap.pop();
      const bucket = q.buckets.get(ts)!;
      // taken out whole: a timer a callback registers at this time again goes into a new bucket, fired next
      q.buckets.delete(ts);
      for (const t of bucket.values()) {
        q.gone(t);
        backend.setCurrentKey(t.key, t.keyGroup);
        fire(t.ts, t.key);
      }
    }
  }

  /** Wakes the task when the earliest processing-time timer is due. */
  #schedule(): void {
    const top = this.#processing.earliest();
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = null;
    this.#scheduled = top ?? Infinity;
    if (top === undefined) return;
    this.#timeout = setTimeout(this.requestWake, Math.max(0, top - this.clock()));
    this.#timeout.unref();
  }
}
