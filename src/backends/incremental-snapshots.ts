// Incremental checkpoints: a changelog of changed keys per checkpoint, deltas on a confirmed chain, periodic full materialisation.
import type { StateHandle } from './types.ts';

export interface IncrementalOptions {
  /** take incremental checkpoints (false: every snapshot is full and `exclusive`) */
  incremental?: boolean;
  /** a full materialisation at least every this many checkpoints (bounds the chain); default 10 */
  materializationInterval?: number;
  /** materialise when the changes since the base exceed this fraction of the base (keys or bytes); default 0.5 */
  maxDeltaRatio?: number;
}

export const DEFAULT_MATERIALIZATION_INTERVAL = 10;
export const DEFAULT_MAX_DELTA_RATIO = 0.5;

/** A chain a later delta can extend: the base, its deltas so far, and how big they are. */
interface Chain {
  base: StateHandle;
  deltas: StateHandle[];
  baseKeys: number;
  deltaBytes: number;
}

/** What the synchronous part of a snapshot decided. */
export type SnapshotPlan<S> =
  | { kind: 'full'; checkpointId: number }
  | { kind: 'delta'; checkpointId: number; chain: Chain; segments: S[] };

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
  /**
   * changes since the previous snapshot; null when incremental checkpoints are off or no chain
   * could use them yet (before the first full materialisation: tracking every key of a bulk load
   * would cost heap for nothing)
   */
  current: S | null = null;
  #segments: Array<{ id: number; changes: S; size: number }> = [];
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
  }

  /** Synchronous part of a snapshot: closes the current segment and decides full or delta. */
  plan(checkpointId: number): SnapshotPlan<S> {
    if (!this.enabled) return { kind: 'full', checkpointId };
    const closed = this.current;
    this.current = this.newSegment();
    if (closed) this.#segments.push({ id: checkpointId, changes: closed, size: this.sizeOf(closed) });
    const chain = this.#confirmed;
    const changed = this.#segments.reduce((n, s) => n + s.size, 0);
    const full =
      !chain ||
      chain.deltas.length + 1 >= this.interval ||
      changed > this.ratio * Math.max(1, chain.baseKeys) ||
      chain.deltaBytes > this.ratio * chain.base.size;
    if (full) {
      // nothing before this materialisation is needed again; older chains cannot be extended
      this.#segments = [];
      this.#confirmed = null;
      this.#pending.clear();
      this.#lastFull = checkpointId;
      return { kind: 'full', checkpointId };
    }
    return { kind: 'delta', checkpointId, chain, segments: this.#segments.map((s) => s.changes) };
  }

  /** Asynchronous part done: the handle the checkpoint acknowledges with. */
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
    this.#confirmed = { id: checkpointId, ...chain };
  }

  /** State was replaced (restore): the next snapshot is a full materialisation. */
  reset(): void {
    this.#segments = [];
    this.#confirmed = null;
    this.#pending.clear();
    this.#lastFull = -Infinity;
    this.current = null;
  }
}
