// Incremental checkpoints: a changelog of changed keys per checkpoint, deltas on a confirmed chain, periodic full materialisation.
import { encodeSnapshotStream, prepend, type AnyChunk } from './snapshot-codec.ts';
import type { StateHandle, StateKind, TaskStateStorage } from './types.ts';

export interface IncrementalOptions {
  /** take incremental checkpoints (false: every snapshot is full and `exclusive`) */
  incremental?: boolean;
  /** a full materialisation at least every this many checkpoints (bounds the chain); default 10 */
  materializationInterval?: number;
  /** materialise when the changes since the base exceed this fraction of the base (keys or bytes); default 0.5 */
  maxDeltaRatio?: number;
  /**
   * changed keys tracked (on the heap) before tracking stops and the next checkpoint is a full
   * materialisation instead; default 250,000
   */
  maxTrackedChanges?: number;
}

export const DEFAULT_MATERIALIZATION_INTERVAL = 10;
export const DEFAULT_MAX_DELTA_RATIO = 0.5;
export const DEFAULT_MAX_TRACKED_CHANGES = 250_000;
/** `current` is read on the write path (per record on the heap, per batch in level): its size is checked at most every this many reads */
const MAX_CHECK_EVERY = 256;

/** A chain a later delta can extend: the base, its deltas so far, and how big they are. */
interface Chain {
  base: StateHandle;
  deltas: StateHandle[];
  baseKeys: number;
  deltaBytes: number;
}

/** What the synchronous part of a snapshot decided. */
export type SnapshotPlan<S> = { kind: 'full'; checkpointId: number } | { kind: 'delta'; checkpointId: number; chain: Chain; segments: S[] };

/**
 * Decides, per checkpoint, between a full materialisation and a delta, and keeps the changelog
 * segments a delta needs. The rule that keeps aborted checkpoints harmless (as Flink's RocksDB
 * backend does): a delta extends only the chain of the last checkpoint the coordinator *confirmed*
 * complete, and holds every change since that one — so changes recorded for a checkpoint that was
 * aborted (whose files storage may have discarded) are written again with the next delta, and an
 * unconfirmed base is never built on. Without confirmations every snapshot is full.
 *
 * `S` is the backend's changelog segment (changed keys since the previous snapshot); the backend
 * records into `current` on its write path and the policy rotates it at each snapshot.
 */
export class IncrementalSnapshots<S> {
  readonly enabled: boolean;
  readonly interval: number;
  readonly ratio: number;
  readonly maxTracked: number;
  #current: S | null = null;
  /** tracking stopped (too many changes to keep): the next snapshot must be a full materialisation */
  #overflowed = false;
  /** reads of `current` until its size is checked again, and the size and spacing at the last check */
  #untilCheck = 1;
  #checkEvery = 1;
  #lastSize = 0;
  #segments: Array<{ id: number; changes: S; size: number }> = [];
  #segmentsSize = 0;
  #confirmed: (Chain & { id: number }) | null = null;
  /** chains written but not yet confirmed; a full materialisation drops them (their segments are gone) */
  #pending = new Map<number, Chain>();
  /** the last full materialisation planned: chains of earlier checkpoints miss segments it dropped */
  #lastFull = -Infinity;

  constructor(
    options: IncrementalOptions,
    private readonly newSegment: () => S,
    private readonly sizeOf: (segment: S) => number,
  ) {
    this.enabled = options.incremental ?? false;
    this.interval = Math.max(1, options.materializationInterval ?? DEFAULT_MATERIALIZATION_INTERVAL);
    this.ratio = options.maxDeltaRatio ?? DEFAULT_MAX_DELTA_RATIO;
    this.maxTracked = options.maxTrackedChanges ?? DEFAULT_MAX_TRACKED_CHANGES;
  }

  /**
   * Changes since the previous snapshot, for the backend to record into; null when incremental
   * checkpoints are off, when no chain could use them yet (before the first full materialisation:
   * tracking every key of a bulk load would cost heap for nothing), or when so many keys changed
   * that the next checkpoint will be full anyway: a load phase with incremental checkpoints on
   * would otherwise hold millions of changed keys on the heap (1.4 GB at 10 million keys).
   */
  get current(): S | null {
    const c = this.#current;
    if (c === null || --this.#untilCheck > 0) return c;
    const chain = this.#confirmed;
    const limit = Math.min(this.maxTracked, chain ? this.ratio * Math.max(1, chain.baseKeys) : Infinity);
    const size = this.#segmentsSize + this.sizeOf(c);
    if (size > limit) {
      this.#current = null;
      this.#overflowed = true;
      return null;
    }
    // check again before the changelog could pass the limit at the growth per read seen since the last check
    const perRead = Math.max(1, (size - this.#lastSize) / this.#checkEvery);
    this.#checkEvery = Math.max(1, Math.min(MAX_CHECK_EVERY, Math.floor((limit - size) / perRead / 2)));
    this.#untilCheck = this.#checkEvery;
    this.#lastSize = size;
    return c;
  }

  /** Synchronous part of a snapshot: closes the current segment and decides full or delta. */
  plan(checkpointId: number): SnapshotPlan<S> {
    if (!this.enabled) return { kind: 'full', checkpointId };
    const closed = this.#current;
    const overflowed = this.#overflowed;
    this.#current = this.newSegment();
    this.#overflowed = false;
    if (closed && !overflowed) this.#segments.push({ id: checkpointId, changes: closed, size: this.sizeOf(closed) });
    const chain = this.#confirmed;
    const changed = (this.#segmentsSize = this.#segments.reduce((n, s) => n + s.size, 0));
    this.#lastSize = changed;
    this.#untilCheck = this.#checkEvery = 1;
    const full =
      overflowed ||
      changed > this.maxTracked || // recorded before a read of `current` could see it pass the cap
      !chain ||
      chain.deltas.length + 1 >= this.interval ||
      changed > this.ratio * Math.max(1, chain.baseKeys) ||
      chain.deltaBytes > this.ratio * chain.base.size;
    if (full) {
      // nothing before this materialisation is needed again; older chains cannot be extended
      this.#segments = [];
      this.#segmentsSize = 0;
      this.#confirmed = null;
      this.#pending.clear();
      this.#lastFull = checkpointId;
      return { kind: 'full', checkpointId };
    }
    return { kind: 'delta', checkpointId, chain, segments: this.#segments.map((s) => s.changes) };
  }

  /** Asynchronous part done: the handle the checkpoint acknowledges with. */
  /**
   * The asynchronous part every backend shares: encodes `chunks` (which count themselves into
   * `counts`) after the header, writes them to storage and returns the handle — null for an empty
   * full snapshot, the unchanged chain for an empty delta.
   */
  async writeSnapshot(
    storage: TaskStateStorage,
    plan: SnapshotPlan<S>,
    header: { maxParallelism: number; states: Record<string, StateKind> },
    chunks: AsyncIterable<AnyChunk>,
    counts: { keys: number; chunks: number },
  ): Promise<StateHandle | null> {
    const stream = encodeSnapshotStream({ kind: plan.kind, ...header }, chunks);
    // encode the first frames before writing: an empty full snapshot is no snapshot at all
    const first = await stream.next();
    if (plan.kind === 'full' && counts.chunks === 0) return null;
    if (plan.kind === 'delta' && counts.chunks === 0) return this.written(plan, null, 0);
    const part = await storage.write(plan.checkpointId, this.enabled ? 'shared' : 'exclusive', prepend(first.value as Uint8Array, stream));
    return this.enabled ? this.written(plan, part, counts.keys) : part;
  }

  /** `part` is null for a delta without changes: the checkpoint shares the chain as it is. */
  written(plan: SnapshotPlan<S>, part: StateHandle | null, keys: number): StateHandle {
    let chain: Chain;
    if (plan.kind === 'full') chain = { base: part!, deltas: [], baseKeys: keys, deltaBytes: 0 };
    else if (!part) chain = plan.chain;
    else chain = { ...plan.chain, deltas: [...plan.chain.deltas, part], deltaBytes: plan.chain.deltaBytes + part.size };
    if (this.enabled && plan.checkpointId >= this.#lastFull) this.#pending.set(plan.checkpointId, chain);
    return { type: 'incremental', base: chain.base, deltas: chain.deltas, size: chain.base.size + chain.deltaBytes };
  }

  /** The coordinator completed `checkpointId` (and so subsumed every earlier one). */
  confirm(checkpointId: number): void {
    const chain = this.#pending.get(checkpointId);
    for (const id of this.#pending.keys()) if (id <= checkpointId) this.#pending.delete(id);
    if (!chain) return;
    // segments up to this checkpoint are in the chain now; later ones stay for the next delta
    this.#segments = this.#segments.filter((s) => s.id > checkpointId);
    this.#segmentsSize = this.#segments.reduce((n, s) => n + s.size, 0);
    this.#confirmed = { id: checkpointId, ...chain };
  }

  /** State was replaced (restore): the next snapshot is a full materialisation. */
  reset(): void {
    this.#segments = [];
    this.#confirmed = null;
    this.#pending.clear();
    this.#lastFull = -Infinity;
    this.#current = null;
    this.#overflowed = false;
    this.#segmentsSize = 0;
  }
}
