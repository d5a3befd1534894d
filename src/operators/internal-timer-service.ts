// Keyed timers (Flink's InternalTimerService): event-time and processing-time timers kept as keyed state, partitioned by key group.
import type { KeyedStateBackend, MapState } from '../backends/types.ts';
import { assignToKeyGroup } from '../backends/key-groups.ts';
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
 */
export const TIMERS_KEY = '\u0000floe:timers';

interface Timer {
  ts: number;
  key: unknown;
  keyGroup: number;
  id: string;
}

/** A binary min-heap on timestamps: the due timers are taken from its top. */
class TimerHeap {
  readonly items: Timer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timer | undefined {
    return this.items[0];
  }
  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.ts <= t.ts) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = t;
  }
  pop(): Timer | undefined {
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
      const c = r < n && a[r]!.ts < a[l]!.ts ? r : l;
      if (a[c]!.ts >= last.ts) break;
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

class TimerQueue {
  readonly heap = new TimerHeap();
  /** the ids of the pending timers (a deleted timer stays in the heap until it comes to the top) */
  readonly pending = new Set<string>();
  readonly state: MapState<string, [number, unknown]>;
  constructor(backend: KeyedStateBackend, name: string) {
    this.state = backend.getMapState<string, [number, unknown]>({ kind: 'map', name });
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
        for (const [id, [ts, key]] of q.state.entries()) {
          q.pending.add(id);
          q.heap.push({ ts, key, keyGroup: kg, id });
        }
      }
    }
    if (current !== undefined) this.#backend.setCurrentKey(current);
    this.#schedule();
  }

  /** pending timers (event, processing) */
  get counts(): { event: number; processing: number } {
    return { event: this.#event.pending.size, processing: this.#processing.pending.size };
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

  /** Fires every event-time timer at or before `watermark`, oldest first, each under its key. */
  advanceWatermark(watermark: number): void {
    this.#watermark = watermark;
    this.#fire(this.#event, watermark, (ts, key) => this.callbacks.onEventTime(ts, key));
  }

  /** Fires the processing-time timers due at `now`. */
  onProcessingTime(now: number): void {
    const top = this.#processing.heap.peek();
    if (!top || top.ts > now) return;
    this.#fire(this.#processing, now, (ts, key) => this.callbacks.onProcessingTime(ts, key));
    this.#schedule();
  }

  dispose(): void {
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = null;
  }

  #register(q: TimerQueue, timestamp: number, what: string): void {
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      throw new JobDefinitionError('FLOE_BAD_TIMER', `${what}(${String(timestamp)}): a timer's time must be a finite number of epoch milliseconds`, {
        hint: 'e.g. ctx.timerService().registerEventTimeTimer(ctx.timestamp + 60_000)',
      });
    }
    const key = this.#backend.getCurrentKey();
    if (key === undefined) {
      throw new JobDefinitionError('FLOE_TIMER_NOT_KEYED', `${what} outside a keyed context: timers belong to a key`, { hint: 'call .keyBy(...) before .process(...)' });
    }
    const id = `${timestamp}\u0000${keyId(key)}`;
    if (q.pending.has(id)) return; // one timer per key and timestamp
    const keyGroup = assignToKeyGroup(key, this.#backend.maxParallelism);
    q.pending.add(id);
    q.heap.push({ ts: timestamp, key, keyGroup, id });
    this.#backend.setCurrentKey(TIMERS_KEY, keyGroup);
    q.state.put(id, [timestamp, key]);
    this.#backend.setCurrentKey(key, keyGroup);
  }

  #delete(q: TimerQueue, timestamp: number): void {
    const key = this.#backend.getCurrentKey();
    const id = `${timestamp}\u0000${keyId(key)}`;
    if (!q.pending.delete(id)) return;
    const keyGroup = assignToKeyGroup(key, this.#backend.maxParallelism);
    this.#backend.setCurrentKey(TIMERS_KEY, keyGroup);
    q.state.remove(id);
    this.#backend.setCurrentKey(key, keyGroup);
  }

  #fire(q: TimerQueue, upTo: number, fire: (ts: number, key: unknown) => void): void {
    const backend = this.#backend;
    for (let t = q.heap.peek(); t && t.ts <= upTo; t = q.heap.peek()) {
      q.heap.pop();
      if (!q.pending.delete(t.id)) continue; // deleted
      backend.setCurrentKey(TIMERS_KEY, t.keyGroup);
      q.state.remove(t.id);
      backend.setCurrentKey(t.key, t.keyGroup);
      fire(t.ts, t.key);
    }
  }

  /** Wakes the task when the earliest processing-time timer is due. */
  #schedule(): void {
    let top = this.#processing.heap.peek();
    while (top && !this.#processing.pending.has(top.id)) {
      this.#processing.heap.pop();
      top = this.#processing.heap.peek();
    }
    if (this.#timeout) clearTimeout(this.#timeout);
    this.#timeout = null;
    this.#scheduled = top ? top.ts : Infinity;
    if (!top) return;
    this.#timeout = setTimeout(this.requestWake, Math.max(0, top.ts - this.clock()));
    this.#timeout.unref();
  }
}
