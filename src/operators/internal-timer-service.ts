// Keyed timers (Flink's InternalTimerService): event-time and processing-time timers kept as keyed state, partitioned by key group.
import type { KeyedStateBackend, KeyedTimerQueue, MapState } from '../backends/types.ts';
import { assignToKeyGroup } from '../backends/key-groups.ts';
import { lookupKey } from '../backends/keyed-snapshot-reader.ts';
import { keyId, TIMERS_KEY } from '../backends/timer-rows.ts';
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
 * key group (TIMERS_KEY, see timer-rows.ts): they are written with the keyed state, so every backend
 * snapshots them (full and incremental), savepoints carry them in the canonical format, and a
 * rescale or a backend switch moves them with their key groups. Entry: `<timestamp>\0<key id>` →
 * [timestamp, key].
 *
 * On heap backends they are written there when the operator snapshots (`flush`), not on each
 * registration: a timer registered and fired between two checkpoints (most of a window's) never
 * touches the backend, and the pending ones are queued on the heap. A backend that keeps timers
 * itself (`timerStore`: level, in LevelDB with only the earliest on the heap) gets every change at
 * once; firing may then wait for its reads, and `advanceWatermark` returns a promise.
 */
export { TIMERS_KEY };

interface Timer {
  readonly ts: number;
  readonly key: unknown;
  /** the key's lookup form (lookupKey), made once */
  readonly lookup: unknown;
  readonly keyGroup: number;
  /** in keyed state since the last flush */
  persisted: boolean;
  /** pending (not fired, not deleted) */
  live: boolean;
}

/**
 * A binary min-heap of timestamps: the due ones are taken from its top. While timestamps come in
 * ascending order (event-time timers mostly do: a record's time plus a delay, a window's end) it is
 * a sorted array read from `head`, O(1) both ways; the first one out of order turns it into the heap
 * (a sorted array is one already), and it is sorted again once empty.
 */
class TimestampHeap {
  items: number[] = [];
  /** sorted: the first pending item (items before it are taken); always 0 as a heap */
  head = 0;
  sorted = true;
  get size(): number {
    return this.items.length - this.head;
  }
  peek(): number | undefined {
    return this.items[this.head];
  }
  clear(): void {
    this.items = [];
    this.head = 0;
    this.sorted = true;
  }
  push(ts: number): void {
    const a = this.items;
    if (this.sorted) {
      if (a.length === this.head || a[a.length - 1]! <= ts) {
        a.push(ts);
        return;
      }
      if (this.head > 0) this.items = a.slice(this.head);
      this.head = 0;
      this.sorted = false;
      this.#siftUp(ts);
      return;
    }
    this.#siftUp(ts);
  }
  #siftUp(ts: number): void {
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
    if (this.sorted) {
      if (this.head === a.length) return undefined;
      const top = a[this.head++];
      if (this.head === a.length) {
        a.length = 0;
        this.head = 0;
      } else if (this.head >= 4096 && this.head * 2 >= a.length) {
        this.items = a.slice(this.head);
        this.head = 0;
      }
      return top;
    }
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) {
      this.sorted = true;
      return top;
    }
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

const timerId = (t: Timer): string => `${t.ts}\u0000${keyId(t.key)}`;

/** Two lookup keys are one key (a Map's SameValueZero: NaN is NaN). */
const sameLookup = (a: unknown, b: unknown): boolean => a === b || (a !== a && b !== b);

/**
 * The timers due at one timestamp: the timer itself while it is the only one (timers of a process
 * function mostly have times of their own: no map per timer), a map by lookup key once there are more.
 */
type Bucket = Timer | Map<unknown, Timer>;

/**
 * The pending timers of one time domain, bucketed by timestamp (a window's timers share their
 * window's end): the heap holds each timestamp once, its bucket the keys (by lookup key) due then.
 */
class TimerQueue {
  readonly heap = new TimestampHeap();
  readonly buckets = new Map<number, Bucket>();
  size = 0;
  /** registered since the last flush (some may be gone already: skipped then) */
  added: Timer[] = [];
  /** persisted ones deleted or fired since the last flush */
  removed: Timer[] = [];
  #state: MapState<string, [number, unknown]> | undefined;
  constructor(
    readonly backend: KeyedStateBackend,
    readonly name: string,
  ) {
    // registered now (a snapshot lists it) unless the backend keeps the timers itself
    if (!backend.timerStore) this.#state = backend.getMapState<string, [number, unknown]>({ kind: 'map', name });
  }
  get state(): MapState<string, [number, unknown]> {
    return (this.#state ??= this.backend.getMapState<string, [number, unknown]>({ kind: 'map', name: this.name }));
  }

  /** The pending timer of `lookup` at `ts`. */
  find(ts: number, lookup: unknown): Timer | undefined {
    const bucket = this.buckets.get(ts);
    if (bucket === undefined) return undefined;
    if (bucket instanceof Map) return bucket.get(lookup);
    return sameLookup(bucket.lookup, lookup) ? bucket : undefined;
  }

  add(t: Timer): void {
    const bucket = this.buckets.get(t.ts);
    if (bucket === undefined) {
      this.buckets.set(t.ts, t);
      this.heap.push(t.ts);
    } else if (bucket instanceof Map) {
      bucket.set(t.lookup, t);
    } else {
      this.buckets.set(
        t.ts,
        new Map([
          [bucket.lookup, bucket],
          [t.lookup, t],
        ]),
      );
    }
    this.size++;
  }

  /** Takes a pending timer out of its bucket (its timestamp stays in the heap until `earliest` passes it). */
  take(t: Timer): void {
    const bucket = this.buckets.get(t.ts);
    if (bucket === t) this.buckets.delete(t.ts);
    else if (bucket instanceof Map) {
      bucket.delete(t.lookup);
      if (bucket.size === 0) this.buckets.delete(t.ts);
    }
  }

  /** Every pending timer, by timestamp bucket. */
  *timers(): IterableIterator<Timer> {
    for (const bucket of this.buckets.values()) {
      if (bucket instanceof Map) yield* bucket.values();
      else yield bucket;
    }
  }

  /** Empties the queue and leaves keyed state as it is: the timers are not gone, someone else keeps them. */
  forget(): void {
    for (const t of this.timers()) t.live = false;
    this.buckets.clear();
    this.heap.clear();
    this.size = 0;
    this.added = this.added.filter((t) => t.live);
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

  /**
   * Takes out the earliest bucket due at `upTo` (whole: a timer a callback registers at its time again
   * goes into a new bucket, fired next), or undefined when none is due.
   */
  pollDue(upTo: number): Bucket | undefined {
    const heap = this.heap;
    for (let ts = heap.peek(); ts !== undefined && ts <= upTo; ts = heap.peek()) {
      heap.pop();
      const bucket = this.buckets.get(ts);
      // a timestamp whose timers were all deleted
      if (bucket === undefined) continue;
      this.buckets.delete(ts);
      return bucket;
    }
    return undefined;
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
  /** the backend's own queues (timerStore: level), null on heap backends */
  readonly #stored: { event: KeyedTimerQueue; processing: KeyedTimerQueue } | null;
  #disposed = false;

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
    this.#stored = backend.timerStore
      ? { event: backend.timerStore(this.#event.name), processing: backend.timerStore(this.#processing.name) }
      : null;
  }

  /** Reads the restored timers of this subtask's key groups into the queues; overdue processing-time timers fire at the next step. */
  restore(): void {
    // a backend that keeps the timers restored them into its queues
    if (this.#stored) return this.#schedule();
    const { start, end } = this.#backend.keyGroupRange;
    const current = this.#backend.getCurrentKey();
    for (const q of [this.#event, this.#processing]) {
      for (let kg = start; kg <= end; kg++) {
        this.#backend.setCurrentKey(TIMERS_KEY, kg);
        for (const [, [ts, key]] of q.state.entries())
          q.add({ ts, key, lookup: lookupKey(key), keyGroup: kg, persisted: true, live: true });
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
    if (this.#stored) return; // written with every change
    const backend = this.#backend;
    const current = backend.getCurrentKey();
    // with its key group: the key in hand may be TIMERS_KEY itself (a flush with no key in hand before), whose hash is no key group of this subtask
    const currentKeyGroup = backend.currentKeyGroup;
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
    if (current !== undefined)
      backend.setCurrentKey(current, currentKeyGroup !== undefined && currentKeyGroup >= 0 ? currentKeyGroup : undefined);
  }

  /** pending timers (event, processing) */
  get counts(): { event: number; processing: number } {
    const stored = this.#stored;
    if (stored) return { event: stored.event.size, processing: stored.processing.size };
    return { event: this.#event.size, processing: this.#processing.size };
  }

  currentProcessingTime(): number {
    return this.clock();
  }

  currentWatermark(): number {
    return this.#watermark;
  }

  registerEventTimeTimer(timestamp: number): void {
    this.#register(this.#event, this.#stored?.event, timestamp, 'registerEventTimeTimer');
  }

  deleteEventTimeTimer(timestamp: number): void {
    this.#delete(this.#event, this.#stored?.event, timestamp);
  }

  registerProcessingTimeTimer(timestamp: number): void {
    this.#register(this.#processing, this.#stored?.processing, timestamp, 'registerProcessingTimeTimer');
    if (timestamp < this.#scheduled) this.#schedule();
  }

  deleteProcessingTimeTimer(timestamp: number): void {
    this.#delete(this.#processing, this.#stored?.processing, timestamp);
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
    if (this.#stored) throw new TypeError('eventTimers(): the backend keeps the timers (heap backends only)');
    const out: Array<{ ts: number; key: unknown; keyGroup: number }> = [];
    for (const t of this.#event.timers()) out.push({ ts: t.ts, key: t.key, keyGroup: t.keyGroup });
    return out;
  }

  /**
   * Takes the pending event-time timers out of the queue without deleting them from keyed state: an
   * operator that keeps its timers itself (see persistEventTimer) adopts restored ones this way.
   */
  forgetEventTimers(): void {
    if (this.#stored) throw new TypeError('forgetEventTimers(): the backend keeps the timers (heap backends only)');
    this.#event.forget();
  }

  /**
   * Fires every event-time timer at or before `watermark`, oldest first, each under its key. A
   * promise when the firing goes on after reads of the backend (timerStore): the watermark is
   * handled once it settles, and nothing else may reach the operator before.
   */
  advanceWatermark(watermark: number): Promise<void> | undefined {
    this.#watermark = watermark;
    const fire = (ts: number, key: unknown) => this.callbacks.onEventTime(ts, key);
    if (this.#stored) return this.#fireStored(this.#stored.event, watermark, fire);
    this.#fire(this.#event, watermark, fire);
    return undefined;
  }

  /** Fires the processing-time timers due at `now` (a promise as advanceWatermark's). */
  onProcessingTime(now: number): Promise<void> | undefined {
    if (this.#stored) {
      const firing = this.#fireStored(this.#stored.processing, now, (ts, key) => this.callbacks.onProcessingTime(ts, key));
      if (firing) return firing.then(() => this.#schedule());
      this.#schedule();
      return undefined;
    }
    const top = this.#processing.earliest();
    if (top === undefined || top > now) return;
    this.#fire(this.#processing, now, (ts, key) => this.callbacks.onProcessingTime(ts, key));
    this.#schedule();
  }

  /**
   * For the operator: runs `then` (passing its watermark on) once a firing that `advanceWatermark`
   * or `onProcessingTime` returned is done, after any earlier one; `pending` says what is still
   * running, for the operator's `endBatch` (the task reads no more input until it settles).
   */
  after(firing: Promise<void>, then?: () => void): void {
    const before = this.#pending;
    const p: Promise<void> = (before ? before.then(() => firing) : firing).then(then).finally(() => {
      if (this.#pending === p) this.#pending = undefined;
    });
    p.catch(() => {}); // the task meets a failure through endBatch
    this.#pending = p;
  }

  /** the firing still under way (see after) */
  get pending(): Promise<void> | undefined {
    return this.#pending;
  }

  #pending: Promise<void> | undefined;

  dispose(): void {
    this.#disposed = true;
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = null;
  }

  #register(q: TimerQueue, stored: KeyedTimerQueue | undefined, timestamp: number, what: string): void {
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
    const kg = this.#backend.currentKeyGroup;
    const keyGroup = kg === undefined || kg < 0 ? assignToKeyGroup(key, this.#backend.maxParallelism) : kg;
    if (stored) return stored.add(timestamp, key, keyGroup);
    // one timer per key and timestamp
    const lookup = lookupKey(key);
    if (q.find(timestamp, lookup) !== undefined) return;
    q.register({ ts: timestamp, key, lookup, keyGroup, persisted: false, live: true });
  }

  #delete(q: TimerQueue, stored: KeyedTimerQueue | undefined, timestamp: number): void {
    if (stored) {
      const key = this.#backend.getCurrentKey();
      const kg = this.#backend.currentKeyGroup;
      return stored.remove(timestamp, key, kg === undefined || kg < 0 ? assignToKeyGroup(key, this.#backend.maxParallelism) : kg);
    }
    const t = q.find(timestamp, lookupKey(this.#backend.getCurrentKey()));
    if (t === undefined) return;
    q.take(t);
    q.gone(t);
  }

  #fire(q: TimerQueue, upTo: number, fire: (ts: number, key: unknown) => void): void {
    const backend = this.#backend;
    for (let bucket = q.pollDue(upTo); bucket !== undefined; bucket = q.pollDue(upTo)) {
      if (bucket instanceof Map) {
        for (const t of bucket.values()) {
          q.gone(t);
          backend.setCurrentKey(t.key, t.keyGroup);
          fire(t.ts, t.key);
        }
      } else {
        q.gone(bucket);
        backend.setCurrentKey(bucket.key, bucket.keyGroup);
        fire(bucket.ts, bucket.key);
      }
    }
  }

  /**
   * Fires the due timers of a backend's queue: those on the heap at once; when the heap part runs
   * dry with timers left in the backend, the rest after loading them (a promise).
   */
  #fireStored(q: KeyedTimerQueue, upTo: number, fire: (ts: number, key: unknown) => void): Promise<void> | undefined {
    if (this.#fireHead(q, upTo, fire)) return undefined;
    const more = async () => {
      do await q.load();
      while (!this.#disposed && !this.#fireHead(q, upTo, fire));
    };
    return more();
  }

  /** Fires the due timers on the heap; false if the backend may hold more due ones (a load is needed). */
  #fireHead(q: KeyedTimerQueue, upTo: number, fire: (ts: number, key: unknown) => void): boolean {
    const backend = this.#backend;
    for (let t = q.peek(); ; t = q.peek()) {
      if (t === undefined) return q.onHeap;
      if (t.ts > upTo) return true;
      q.poll();
      backend.setCurrentKey(t.key, t.keyGroup);
      fire(t.ts, t.key);
    }
  }

  /** The earliest pending processing-time timestamp (a backend's queue may first have to load it: then it reschedules). */
  #earliestProcessing(): number | undefined {
    const stored = this.#stored?.processing;
    if (!stored) return this.#processing.earliest();
    const top = stored.peek();
    if (top === undefined && !stored.onHeap) {
      stored.load().then(
        () => !this.#disposed && this.#schedule(),
        () => {}, // a failed read: the backend's next write or snapshot fails the task
      );
    }
    return top?.ts;
  }

  /** Wakes the task when the earliest processing-time timer is due. */
  #schedule(): void {
    const top = this.#earliestProcessing();
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = null;
    this.#scheduled = top ?? Infinity;
    if (top === undefined) return;
    this.#timeout = setTimeout(this.requestWake, Math.max(0, top - this.clock()));
    this.#timeout.unref();
  }
}
