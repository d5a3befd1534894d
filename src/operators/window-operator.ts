// The window operator (Flink's WindowOperator): assigns records to windows kept as keyed state, fires them with timers, handles lateness.
import { HeapKeyedBackend } from '../backends/heap-keyed-backend.ts';
import { lookupKey } from '../backends/keyed-snapshot-reader.ts';
import type { KeyedStateBackend, ValueState } from '../backends/types.ts';
import { JobDefinitionError } from '../errors.ts';
import type { ElementTimestamp } from './event-time.ts';
import { InternalTimerService } from './internal-timer-service.ts';
import type { OperatorContext, Output, StreamOperator } from './operator.ts';
import type { OutputTag } from './output-tag.ts';
import { windowStart, type FixedWindows, type TimeWindow, type WindowAssigner } from './window-assigners.ts';
import { UNDEFINED_CONTENTS, WindowSlot } from './window-slot.ts';

/** Flink's AggregateFunction, with `merge` (needed by session windows). */
export interface WindowAggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  merge?(a: ACC, b: ACC): ACC;
}

/** What a process window function sees of its window. */
export interface ProcessWindowContext {
  readonly window: TimeWindow;
  readonly currentWatermark: number;
  readonly currentProcessingTime: number;
  /** emits to a side output */
  output<X>(tag: OutputTag<X>, value: X): void;
}

export type ProcessWindowFunction<IN, OUT, K> = (key: K, context: ProcessWindowContext, elements: Iterable<IN>, out: Output<OUT>) => void;

/** How the window's contents are kept and turned into output. */
export type WindowFunctionSpec =
  | { kind: 'reduce'; reduce: (a: any, b: any) => any }
  | { kind: 'aggregate'; aggregate: WindowAggregateFunction<any, any, any> }
  | { kind: 'process'; process: ProcessWindowFunction<any, any, any> };

export interface WindowSettings {
  assigner: WindowAssigner;
  allowedLateness: number;
  lateDataTag: OutputTag<unknown> | null;
  fn: WindowFunctionSpec;
}

/** A window of a key: [start, end, contents]. */
type WindowEntry = [start: number, end: number, contents: unknown];

/**
 * The key's windows, one value: a key has one or a few windows at a time (tumbling: one, sliding:
 * size / slide), so one read and one write per record, found by a short scan, no map per key.
 */
type WindowList = WindowEntry[];

/** The tag of a window list made in the operator's current snapshot epoch (see WindowOperator.#epoch). */
const OWNER = Symbol('floe.window-list-owner');
type Owned = WindowList & { [OWNER]?: object };

export class WindowOperator implements StreamOperator<unknown, unknown> {
  #out!: Output<unknown>;
  #uid = '';
  #backend!: KeyedStateBackend;
  #timestamp!: ElementTimestamp;
  #windows!: ValueState<WindowList | undefined>;
  #timers!: InternalTimerService;
  /**
   * The epoch of this operator instance's snapshots: window lists tagged with it were made since
   * the last snapshot and are changed in place (contents appended, accumulators added to); one a
   * snapshot may hold is copied first (copy on write, as the heap backend does). A new object per
   * snapshot, and the tag a symbol no codec writes: a restored list is never taken for an owned one.
   */
  #epoch: object = {};
  /**
   * Fixed-size event-time windows on a heap backend: held by window (WindowSlot) instead of per key,
   * fired by window instead of by a timer per key and window, written to keyed state (with the
   * timers the per-key path would have) only when the operator snapshots. Null: the per-key path
   * (merging or processing-time windows, off-heap backends).
   */
  #fixed: FixedWindows | null = null;
  /** the windows are held in #slots now (else per key, in keyed state with their timers) */
  #bySlot = false;
  /** window end → the window of every key */
  readonly #slots = new Map<number, WindowSlot>();
  /**
   * window end → restored windows of keys that had fired already (their end - 1 timer was gone): they
   * do not fire again at end - 1, only if a record comes (Flink's trigger registers end - 1 again), and
   * are dropped after the lateness
   */
  readonly #fired = new Map<number, WindowSlot>();
  /** restored timers no restored window explains: removed from keyed state at the next snapshot */
  #strays: Array<{ ts: number; key: unknown; keyGroup: number }> = [];
  /** the aggregate function of an aggregate window (called without a dispatch per record) */
  #aggregate: WindowAggregateFunction<unknown, unknown, unknown> | null = null;
  /** the last window start (of the slide grid) computed */
  #lastStart = NaN;
  /** the window the last record went to (consecutive records mostly share it) */
  #lastSlot: WindowSlot | null = null;
  /** how many keys the last window that fired held: a new window's index is sized for as many */
  #keysPerWindow = 0;
  /** windows a snapshot wrote, dropped since: their keys' state and timers go at the next snapshot */
  #dropped: WindowSlot[] = [];
  /** late records dropped (no side output): Flink's numLateRecordsDropped */
  numLateRecordsDropped = 0;
  /** late records sent to the side output */
  numLateRecordsToSideOutput = 0;
  readonly #settings: WindowSettings;

  constructor(
    settings: WindowSettings,
    readonly clock: () => number = Date.now,
  ) {
    this.#settings = settings;
  }

  open(context: OperatorContext, output: Output<unknown>): void {
    if (!context.keyedState) {
      throw new JobDefinitionError('FLOE_WINDOW_NOT_KEYED', `operator '${context.operatorUid}': windows need a keyed stream`, {
        hint: 'call .keyBy(...) before .window(...)',
      });
    }
    this.#out = output;
    this.#uid = context.operatorUid;
    this.#backend = context.keyedState;
    this.#timestamp = context.elementTimestamp;
    this.#windows = this.#backend.getState<WindowList | undefined>({ kind: 'value', name: '_windows' });
    this.#timers = new InternalTimerService(
      'window-timers',
      this.#backend,
      { onEventTime: (ts, key) => this.#onTimer(ts, key, true), onProcessingTime: (ts, key) => this.#onTimer(ts, key, false) },
      this.clock,
      context.requestWake,
    );
    this.#timers.restore();
    const { assigner } = this.#settings;
    if (this.#backend instanceof HeapKeyedBackend && assigner.isEventTime && !assigner.isMerging) {
      this.#fixed = assigner.fixedWindows();
      const fn = this.#settings.fn;
      this.#aggregate = fn.kind === 'aggregate' ? fn.aggregate : null;
      this.#bySlot = this.#fixed !== null && this.#adoptRestored();
    }
  }

  /**
   * Restored windows (found through their timers: every window has one until dropped) go into the
   * slots, fired ones apart, and their timers leave the timer queue; they stay in keyed state as
   * they are until a snapshot changes them. False (the per-key path): windows of another size or grid.
   */
  #adoptRestored(): boolean {
    const { event, processing } = this.#timers.counts;
    if (processing > 0) return false;
    if (event === 0) return true;
    const { size, slide, offset } = this.#fixed!;
    const backend = this.#backend;
    const current = backend.getCurrentKey();
    const currentGroup = backend.currentKeyGroup;
    const restored = this.#timers.eventTimers();
    const byKey = new Map<unknown, { key: unknown; keyGroup: number; ts: number[]; list: WindowList }>();
    for (const t of restored) {
      const lookup = lookupKey(t.key);
      const e = byKey.get(lookup);
      if (e) e.ts.push(t.ts);
      else byKey.set(lookup, { key: t.key, keyGroup: t.keyGroup, ts: [t.ts], list: [] });
    }
    let aligned = true;
    for (const e of byKey.values()) {
      backend.setCurrentKey(e.key, e.keyGroup);
      e.list = this.#windows.value() ?? [];
      for (const [start, end] of e.list) if (end - start !== size || windowStart(start, offset, slide) !== start) aligned = false;
    }
    if (current !== undefined) backend.setCurrentKey(current, currentGroup);
    if (!aligned) return false;
    this.#timers.forgetEventTimers();
    const place = (slots: Map<number, WindowSlot>, lookup: unknown, key: unknown, [start, end, contents]: WindowEntry) => {
      let slot = slots.get(end);
      if (slot === undefined) {
        slots.set(end, (slot = new WindowSlot(start, end, slots === this.#fired)));
        slot.flushed = true;
      }
      if (lookup !== key || Object.is(key, -0)) (slot.keys ??= new Map()).set(lookup, key);
      // the backend's value (and a snapshot) still holds these contents: a copy is changed in place
      slot.contents.set(lookup, contents === undefined ? UNDEFINED_CONTENTS : this.#copyContents(contents));
    };
    // windows whose end - 1 timer is pending, in the timers' order (the order the per-key path fires them in)
    const pending = new Set<WindowEntry>();
    for (const t of restored) {
      const lookup = lookupKey(t.key);
      const entry = byKey.get(lookup)!.list.find((w) => w[1] - 1 === t.ts);
      if (entry === undefined || pending.has(entry)) continue;
      pending.add(entry);
      place(this.#slots, lookup, t.key, entry);
    }
    const lateness = this.#settings.allowedLateness;
    for (const [lookup, e] of byKey) {
      const explained = new Set<number>();
      for (const entry of e.list) {
        if (!pending.has(entry)) place(this.#fired, lookup, e.key, entry);
        explained.add(entry[1] - 1).add(entry[1] - 1 + lateness);
      }
      for (const ts of e.ts) if (!explained.has(ts)) this.#strays.push({ ts, key: e.key, keyGroup: e.keyGroup });
    }
    return true;
  }

  get timers(): InternalTimerService {
    return this.#timers;
  }

  processElement(record: unknown): void {
    if (this.#bySlot) {
      this.#processBySlot(record);
      return;
    }
    const { assigner, allowedLateness } = this.#settings;
    let ts: number;
    if (assigner.isEventTime) {
      const t = this.#timestamp.current;
      if (t === undefined) {
        throw new JobDefinitionError(
          'FLOE_NO_TIMESTAMP',
          `operator '${this.#uid}': a record reached ${assigner.toString()} without an event timestamp`,
          {
            hint: 'call .assignTimestampsAndWatermarks(WatermarkStrategy...withTimestampAssigner(...)) before .keyBy(...).window(...)',
          },
        );
      }
      ts = t;
    } else {
      ts = this.clock();
    }
    const watermark = this.#timers.currentWatermark();
    const windows = assigner.assignWindows(ts);
    let accepted = false;
    if (assigner.isMerging) {
      accepted = this.#addMerging(windows[0]!, record, watermark);
    } else {
      let list: WindowList | undefined;
      for (const w of windows) {
        if (this.#isLate(w, watermark)) continue;
        accepted = true;
        list ??= this.#writableList();
        let entry: WindowEntry | undefined;
        for (let i = 0; i < list.length; i++) {
          const e = list[i]!;
          if (e[0] === w.start && e[1] === w.end) {
            entry = e;
            break;
          }
        }
        if (!entry) {
          list.push((entry = [w.start, w.end, this.#empty()]));
          // one set of timers per key and window, registered with the window (not per record)
          this.#registerTimers(w);
        } else if (assigner.isEventTime && w.end - 1 > watermark) {
          // a window restored after it fired fires again (Flink's trigger registers end - 1 on every record; one timer per key and time)
          this.#timers.registerEventTimeTimer(w.end - 1);
        }
        entry[2] = this.#add(entry[2], record);
        // a late record within the allowed lateness fires its window again at once (Flink's EventTimeTrigger)
        if (assigner.isEventTime && w.end - 1 <= watermark) this.#emit(w, entry[2], this.#backend.getCurrentKey());
      }
      if (list) this.#windows.update(list);
    }
    if (!accepted && assigner.isEventTime && ts + allowedLateness <= watermark) this.#late(record);
  }

  #late(record: unknown): void {
    const tag = this.#settings.lateDataTag;
    if (tag) {
      this.numLateRecordsToSideOutput++;
      this.#out.sideOutput?.(tag.id, record);
    } else {
      this.numLateRecordsDropped++;
    }
  }

  #eventTimestamp(): number {
    const t = this.#timestamp.current;
    if (t === undefined) {
      throw new JobDefinitionError(
        'FLOE_NO_TIMESTAMP',
        `operator '${this.#uid}': a record reached ${this.#settings.assigner.toString()} without an event timestamp`,
        {
          hint: 'call .assignTimestampsAndWatermarks(WatermarkStrategy...withTimestampAssigner(...)) before .keyBy(...).window(...)',
        },
      );
    }
    return t;
  }

  /** The windows held by window: the record's contents added in each of its windows, found by one lookup each. */
  #processBySlot(record: unknown): void {
    const ts = this.#eventTimestamp();
    const { size, slide, offset } = this.#fixed!;
    const lateness = this.#settings.allowedLateness;
    const watermark = this.#timers.currentWatermark();
    const key = this.#backend.getCurrentKey();
    const keyed = (key !== null && typeof key === 'object') || Object.is(key, -0);
    const lookup = keyed ? lookupKey(key) : key;
    const aggregate = this.#aggregate;
    // the last window start of the previous record still holds (a modulo per record saved)
    let last = this.#lastStart;
    if (!(ts >= last && ts - last < slide)) last = this.#lastStart = windowStart(ts, offset, slide);
    let accepted = false;
    for (let start = last; start > ts - size; start -= slide) {
      const end = start + size;
      if (end - 1 + lateness <= watermark) continue;
      accepted = true;
      let slot = this.#lastSlot;
      if (slot === null || slot.end !== end) {
        slot = this.#slots.get(end) ?? null;
        if (slot === null) {
          const expected = Math.max(this.#keysPerWindow, this.#lastSlot?.contents.size ?? 0);
          this.#slots.set(end, (slot = new WindowSlot(start, end, end - 1 <= watermark, expected)));
        }
        this.#lastSlot = slot;
      }
      if (keyed) (slot.keys ??= new Map()).set(lookup, key);
      const contents = slot.contents;
      // one probe: the position of the key's contents, or where they go
      const at = contents.find(lookup);
      let held = at >= 0 ? contents.valueAt(at) : undefined;
      let moved = false;
      if (held === undefined && this.#fired.size > 0) moved = (held = this.#unfire(end, lookup)) !== undefined;
      let after: unknown;
      if (aggregate !== null) {
        after = aggregate.add(record, held === undefined ? aggregate.createAccumulator() : held === UNDEFINED_CONTENTS ? undefined : held);
      } else {
        after = this.#add(held === undefined ? this.#empty() : held === UNDEFINED_CONTENTS ? undefined : held, record);
      }
      if (after !== held || moved) {
        const stored = after === undefined ? UNDEFINED_CONTENTS : after;
        if (at >= 0) contents.setAt(at, stored);
        else contents.insert(at, lookup, stored);
      }
      slot.touched(lookup);
      // a late record within the allowed lateness fires its window again at once (Flink's EventTimeTrigger)
      if (slot.fired) this.#emit(slot.window, after, key);
    }
    if (!accepted && ts + lateness <= watermark) this.#late(record);
  }

  /**
   * A restored window that had fired gets a record: it leaves the fired ones, to fire again at its end
   * (at once if the watermark passed it), as Flink's trigger registers its end - 1 timer again.
   */
  #unfire(end: number, lookup: unknown): unknown {
    const fired = this.#fired.get(end);
    const held = fired?.contents.get(lookup);
    if (fired === undefined || held === undefined) return undefined;
    // the key is written again at the next snapshot: the slot it goes to lists it
    fired.contents.delete(lookup);
    if (fired.contents.size === 0) this.#fired.delete(end);
    return held;
  }

  /** Fires the windows the watermark passed (oldest first, each key in the order it came in) and drops those past their lateness. */
  #advanceSlots(watermark: number): void {
    const lateness = this.#settings.allowedLateness;
    let due: WindowSlot[] | null = null;
    for (const slot of this.#slots.values()) {
      if ((!slot.fired && slot.end - 1 <= watermark) || slot.end - 1 + lateness <= watermark) (due ??= []).push(slot);
    }
    if (due === null) return;
    due.sort((a, b) => a.end - b.end);
    for (const slot of due) {
      if (!slot.fired) {
        slot.fired = true;
        // the written window timer at end - 1 is gone now: every key's timers change at the next snapshot
        if (slot.flushed) slot.dirtyAll = true;
        this.#fireSlot(slot);
      }
      if (slot.end - 1 + lateness <= watermark) {
        this.#slots.delete(slot.end);
        if (this.#lastSlot === slot) this.#lastSlot = null;
        if (slot.flushed) this.#dropped.push(slot);
      }
    }
    for (const slot of this.#fired.values()) {
      if (slot.end - 1 + lateness > watermark) continue;
      this.#fired.delete(slot.end);
      this.#dropped.push(slot);
    }
  }

  #fireSlot(slot: WindowSlot): void {
    const fn = this.#settings.fn;
    const out = this.#out;
    const ts = this.#timestamp;
    this.#keysPerWindow = slot.contents.size;
    if (fn.kind === 'aggregate') {
      // the common case, without a call per key
      const last = slot.end - 1;
      const aggregate = fn.aggregate;
      slot.contents.forEach((held) => {
        ts.current = last;
        out.collect(aggregate.getResult(held === UNDEFINED_CONTENTS ? undefined : held));
      });
      return;
    }
    slot.contents.forEach((held, lookup) => {
      this.#emit(slot.window, held === UNDEFINED_CONTENTS ? undefined : held, slot.keyOf(lookup));
    });
  }

  /**
   * Writes the windows held by window into keyed state, as the per-key path holds them: each changed
   * key's list of windows, and its window timers (end - 1 while not fired, the cleanup time while
   * the lateness lasts) in the timer service's state. Only keys changed since the last call.
   */
  #flushSlots(): void {
    const backend = this.#backend;
    const timers = this.#timers;
    const current = backend.getCurrentKey();
    const currentGroup = backend.currentKeyGroup;
    const lateness = this.#settings.allowedLateness;
    for (const t of this.#strays) timers.persistEventTimer(t.key, t.keyGroup, t.ts, false);
    this.#strays = [];
    const slots = [...this.#slots.values(), ...this.#fired.values()].sort((a, b) => a.end - b.end);
    const changed = new Map<unknown, unknown>();
    const collect = (slot: WindowSlot, lookups: Iterable<unknown>) => {
      for (const lookup of lookups) if (!changed.has(lookup)) changed.set(lookup, slot.keyOf(lookup));
    };
    for (const slot of slots) {
      if (!slot.flushed || slot.dirtyAll) collect(slot, slot.contents.keys());
      else if (slot.dirty) collect(slot, slot.dirty);
    }
    for (const slot of this.#dropped) collect(slot, slot.contents.keys());
    const has = new Set<number>();
    const candidates = new Set<number>();
    for (const [lookup, key] of changed) {
      backend.setCurrentKey(key);
      const keyGroup = backend.currentKeyGroup ?? -1;
      const before = this.#windows.value();
      const list: WindowList = [];
      has.clear();
      candidates.clear();
      for (const slot of slots) {
        const held = slot.contents.get(lookup);
        if (held === undefined) continue;
        list.push([slot.start, slot.end, this.#copyContents(held === UNDEFINED_CONTENTS ? undefined : held)]);
        if (!slot.fired) has.add(slot.end - 1);
        has.add(slot.end - 1 + lateness);
      }
      if (list.length > 0) this.#windows.update(list);
      else if (before !== undefined) this.#windows.clear();
      // the timers keyed state holds for the key are those of the windows it held: each is checked
      for (const [, end] of before ?? []) candidates.add(end - 1).add(end - 1 + lateness);
      for (const t of has) candidates.add(t);
      // (a key without windows in keyed state has no timers there either: nothing to look up)
      for (const t of candidates) {
        if (!has.has(t)) timers.persistEventTimer(key, keyGroup, t, false);
        else if (before === undefined || !timers.hasPersistedEventTimer(key, keyGroup, t)) timers.persistEventTimer(key, keyGroup, t, true);
      }
    }
    for (const slot of slots) {
      slot.flushed = true;
      slot.dirty = null;
      slot.dirtyAll = false;
    }
    this.#dropped = [];
    if (current !== undefined) backend.setCurrentKey(current, currentGroup);
  }

  /** Timers go into keyed state now, and window lists held by this snapshot are copied before their next change. */
  snapshotState(): void {
    if (this.#bySlot) this.#flushSlots();
    this.#timers.flush();
    this.#epoch = {};
  }

  /** The current key's window list, to be changed in place (and written back with update). */
  #writableList(): WindowList {
    const current = this.#windows.value();
    if (current !== undefined && (current as Owned)[OWNER] === this.#epoch) return current;
    const list: WindowList = current ? current.map((e) => [e[0], e[1], this.#copyContents(e[2])]) : [];
    (list as Owned)[OWNER] = this.#epoch;
    return list;
  }

  /** Contents a snapshot may hold, made safe to change in place: element lists and object accumulators are copied. */
  #copyContents(contents: unknown): unknown {
    const kind = this.#settings.fn.kind;
    if (kind === 'process') return [...(contents as unknown[])];
    if (kind === 'aggregate' && contents !== null && typeof contents === 'object') return structuredClone(contents);
    return contents;
  }

  processWatermark(timestamp: number): void {
    const firing = this.#timers.advanceWatermark(timestamp);
    // timers firing after reads of the backend (level, never by slot): the watermark goes on after them
    if (firing) return this.#timers.after(firing, () => this.#out.emitWatermark?.(timestamp));
    if (this.#bySlot) this.#advanceSlots(timestamp);
    this.#out.emitWatermark?.(timestamp);
  }

  onProcessingTime(now: number): void {
    const firing = this.#timers.onProcessingTime(now);
    if (firing) this.#timers.after(firing);
  }

  /** timers still firing (level): the task reads no more input until they are done */
  endBatch(): Promise<void> | undefined {
    return this.#timers.pending;
  }

  close(): void {
    this.#timers?.dispose();
  }

  #isLate(w: TimeWindow, watermark: number): boolean {
    return this.#settings.assigner.isEventTime && w.end - 1 + this.#settings.allowedLateness <= watermark;
  }

  #registerTimers(w: TimeWindow): void {
    if (this.#settings.assigner.isEventTime) {
      // a window already due fires at once instead (Flink's EventTimeTrigger): only its cleanup timer is left
      if (w.end - 1 > this.#timers.currentWatermark()) this.#timers.registerEventTimeTimer(w.end - 1);
      const cleanup = w.end - 1 + this.#settings.allowedLateness;
      if (cleanup !== w.end - 1) this.#timers.registerEventTimeTimer(cleanup);
    } else {
      this.#timers.registerProcessingTimeTimer(w.end - 1);
    }
  }

  #deleteTimers(w: TimeWindow): void {
    if (this.#settings.assigner.isEventTime) {
      this.#timers.deleteEventTimeTimer(w.end - 1);
      const cleanup = w.end - 1 + this.#settings.allowedLateness;
      if (cleanup !== w.end - 1) this.#timers.deleteEventTimeTimer(cleanup);
    } else {
      this.#timers.deleteProcessingTimeTimer(w.end - 1);
    }
  }

  /** Session windows: the new window and every window of the key it overlaps become one. */
  #addMerging(w: TimeWindow, record: unknown, watermark: number): boolean {
    let start = w.start;
    let end = w.end;
    const windows = this.#windows.value() ?? [];
    const overlapping: WindowEntry[] = [];
    // widen until stable: a window joining can make the merged one reach another; windows that touch merge too
    // (Flink's TimeWindow.intersects: events exactly a gap apart are one session)
    for (let grew = true; grew;) {
      grew = false;
      for (const entry of windows) {
        if (!overlapping.includes(entry) && entry[0] <= end && start <= entry[1]) {
          overlapping.push(entry);
          start = Math.min(start, entry[0]);
          end = Math.max(end, entry[1]);
          grew = true;
        }
      }
    }
    const merged = { start, end };
    if (this.#isLate(merged, watermark)) return false;
    const existing = overlapping.length === 1 && overlapping[0]![0] === start && overlapping[0]![1] === end;
    let contents = this.#empty();
    for (const e of overlapping) {
      contents = this.#merge(contents, this.#copyContents(e[2]));
      if (e[0] !== start || e[1] !== end) this.#deleteTimers({ start: e[0], end: e[1] });
    }
    contents = this.#add(contents, record);
    // not owned: it keeps entries a snapshot may hold (the next change copies it)
    const list: WindowList = windows.filter((e) => !overlapping.includes(e));
    list.push([start, end, contents]);
    this.#windows.update(list);
    if (!existing) this.#registerTimers(merged);
    if (this.#settings.assigner.isEventTime && end - 1 <= watermark) this.#emit(merged, contents, this.#backend.getCurrentKey());
    return true;
  }

  #onTimer(ts: number, _key: unknown, eventTime: boolean): void {
    const lateness = eventTime ? this.#settings.allowedLateness : 0;
    const windows = this.#windows.value();
    if (!windows) return;
    let kept = 0;
    for (const [start, end, contents] of windows) {
      if (end - 1 === ts) this.#emit({ start, end }, contents, this.#backend.getCurrentKey());
      if (end - 1 + lateness > ts) kept++;
    }
    if (kept === windows.length) return;
    if (kept === 0) {
      this.#windows.clear();
      return;
    }
    // not owned: it keeps entries a snapshot may hold (the next change copies it)
    this.#windows.update(windows.filter(([, end]) => end - 1 + lateness > ts));
  }

  /** Window contents: reduce keeps the running value, aggregate the accumulator, process the elements. */
  #empty(): unknown {
    const fn = this.#settings.fn;
    return fn.kind === 'aggregate' ? fn.aggregate.createAccumulator() : fn.kind === 'process' ? [] : undefined;
  }

  #add(contents: unknown, record: unknown): unknown {
    const fn = this.#settings.fn;
    switch (fn.kind) {
      case 'reduce':
        return contents === undefined ? record : fn.reduce(contents, record);
      case 'aggregate':
        return fn.aggregate.add(record, contents);
      case 'process':
        // the list is the window's own (copied when a snapshot may hold it): appended in place
        (contents as unknown[]).push(record);
        return contents;
    }
  }

  #merge(a: unknown, b: unknown): unknown {
    const fn = this.#settings.fn;
    switch (fn.kind) {
      case 'reduce':
        return a === undefined ? b : b === undefined ? a : fn.reduce(a, b);
      case 'aggregate':
        if (!fn.aggregate.merge) {
          throw new JobDefinitionError(
            'FLOE_AGGREGATE_MERGE',
            `operator '${this.#uid}': session windows merge accumulators, and the aggregate function has no merge(a, b)`,
            { hint: 'add merge(a, b) to the aggregate function' },
          );
        }
        return fn.aggregate.merge(a, b);
      case 'process':
        return [...(a as unknown[]), ...(b as unknown[])];
    }
  }

  /** Emits a window's result with the window's last timestamp (Flink: window.maxTimestamp()). */
  #emit(window: TimeWindow, contents: unknown, key: unknown): void {
    this.#timestamp.current = window.end - 1;
    const fn = this.#settings.fn;
    const out = this.#out;
    switch (fn.kind) {
      case 'reduce':
        if (contents !== undefined) out.collect(contents);
        return;
      case 'aggregate':
        out.collect(fn.aggregate.getResult(contents));
        return;
      case 'process': {
        const timers = this.#timers;
        const context: ProcessWindowContext = {
          window,
          currentWatermark: timers.currentWatermark(),
          currentProcessingTime: timers.currentProcessingTime(),
          output: (tag, value) => out.sideOutput?.(tag.id, value),
        };
        fn.process(key, context, contents as unknown[], out);
      }
    }
  }
}
