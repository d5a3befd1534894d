// Output writers: partition records onto a task's output channels, in batches (network buffers).
import { assignToKeyGroup, subtaskForKeyGroup } from '../backends/key-groups.ts';
import type { Partitioning } from '../graph/transformation.ts';
import { MIN_WATERMARK, RecordTimestamp } from '../operators/event-time.ts';
import type { Output } from '../operators/operator.ts';
import type { Channel } from './channel.ts';
import type { ChannelMessage, RecordBatch } from './types.ts';

/**
 * Record slots an edge's batches are created with, over all its channels: a batch past its room
 * grows as records are added, so an edge to many consumers holds little for channels that stay idle.
 */
const ROOM_PER_EDGE = 4096;

/**
 * An empty batch with room for `room` records, filled by index: a `[]` grows its backing store
 * about ten times on the way to 512 records (each a copy and garbage: 7% of a keyed word count's
 * allocation), and a `[]` literal starts as an array of small integers whose kind the first record
 * changes, which kept V8 from inlining the store at the emit site. Its length is set to the records
 * in it when it goes out.
 */
function newBatch(room: number): RecordBatch {
  return new Array(room);
}

/** Sets the timestamp `ts` (NaN: none) of record `i`, the batch's last; the timestamps start with the first record that has one. */
function stamp(batch: RecordBatch, i: number, ts: number): void {
  let stamps = batch.timestamps;
  if (stamps === undefined) {
    if (ts !== ts) return;
    // an array of doubles from the start (one that starts as small integers changes kind at the first timestamp)
    stamps = batch.timestamps = [0.5];
    stamps.pop();
    for (let j = 0; j < i; j++) stamps.push(NaN);
  }
  stamps.push(ts);
}

/** The channels of one outgoing edge (one per consumer subtask) and how records pick one. */
export class EdgeWriter {
  readonly #batches: RecordBatch[];
  /** records in each channel's batch (until it goes out its length is its room, or the records once past it) */
  readonly #filled: number[];
  readonly #single: boolean;
  /** record slots each new batch is created with */
  readonly #room: number;
  #roundRobin: number;

  constructor(
    readonly channels: Channel[],
    readonly partitioning: Partitioning,
    readonly batchSize: number,
    readonly maxParallelism: number,
    producerSubtask: number,
    /** the producer's output this edge carries: a side output's tag, or null for the main output */
    readonly outputTag: string | null = null,
  ) {
    this.#room = Math.min(batchSize, Math.ceil(ROOM_PER_EDGE / channels.length));
    this.#batches = channels.map(() => newBatch(this.#room));
    this.#filled = channels.map(() => 0);
    this.#single = channels.length === 1;
    this.#roundRobin = producerSubtask % channels.length;
  }

  /** `ts` is the record's event timestamp, NaN for none: it goes beside the record in the batch */
  emit(record: unknown, ts: number = NaN): void {
    // one consumer subtask (parallelism 1, or a forward edge's one channel): every partitioning picks it. The
    // partitioning's switch stays out of line: a small emit is what V8 inlines into the operator that emits
    if (this.#single) this.#add(0, record, ts);
    else this.#route(record, ts);
  }

  #route(record: unknown, ts: number): void {
    const p = this.partitioning;
    switch (p.type) {
      case 'forward':
        return this.#add(0, record, ts);
      case 'hash': {
        const n = this.channels.length;
        return this.#add(
          subtaskForKeyGroup(this.maxParallelism, n, assignToKeyGroup(p.keySelector(record), this.maxParallelism)),
          record,
          ts,
        );
      }
      case 'rebalance': {
        const target = this.#roundRobin;
        this.#roundRobin = (target + 1) % this.channels.length;
        return this.#add(target, record, ts);
      }
      case 'broadcast':
        for (let i = 0; i < this.channels.length; i++) this.#add(i, record, ts);
    }
  }

  #add(channel: number, record: unknown, ts: number): void {
    const batch = this.#batches[channel]!;
    const n = this.#filled[channel]!;
    batch[n] = record;
    this.#filled[channel] = n + 1;
    if (ts === ts || batch.timestamps !== undefined) stamp(batch, n, ts);
    if (n + 1 >= this.batchSize) this.#send(channel);
  }

  /** The batch of `channel` goes out, as long as the records in it; a new one takes its place. */
  #send(channel: number): void {
    const batch = this.#batches[channel]!;
    const n = this.#filled[channel]!;
    if (batch.length !== n) batch.length = n;
    this.#batches[channel] = newBatch(this.#room);
    this.#filled[channel] = 0;
    this.channels[channel]!.push({ type: 'data', batch });
  }

  /** Sends every partial batch (before an event, or when the task goes idle). */
  flush(): void {
    for (let i = 0; i < this.#batches.length; i++) if (this.#filled[i] !== 0) this.#send(i);
  }

  /** Sends an event to every consumer subtask, after the records emitted before it. */
  broadcastEvent(event: ChannelMessage): void {
    this.flush();
    for (const channel of this.channels) channel.push(event);
  }

  hasCredit(): boolean {
    for (const channel of this.channels) if (channel.credits <= 0) return false;
    return true;
  }

  pendingRecords(): number {
    let n = 0;
    for (const f of this.#filled) n += f;
    return n;
  }
}

/**
 * The task's output: records of the main output go to every edge of the main output, records of a
 * side output only to the edges of its tag (Flink's RecordWriterOutput with its output tag).
 */
export class OutputWriter implements Output<unknown> {
  recordsOut = 0;
  /** the timestamp of the record being emitted, set by the chain (NaN: the record has none) */
  timestamp = new RecordTimestamp();
  /** the last watermark sent: a watermark goes out only when it rises */
  currentWatermark = MIN_WATERMARK;
  readonly #main: EdgeWriter[];
  /** the one edge of the main output, if it has exactly one (the common case: no loop per record) */
  readonly #one: EdgeWriter | null;
  readonly #sides = new Map<string, EdgeWriter[]>();
  constructor(readonly edges: EdgeWriter[]) {
    this.#main = edges.filter((e) => e.outputTag === null);
    this.#one = this.#main.length === 1 ? this.#main[0]! : null;
    for (const e of edges) if (e.outputTag !== null) this.#sides.set(e.outputTag, [...(this.#sides.get(e.outputTag) ?? []), e]);
  }

  collect(record: unknown): void {
    this.recordsOut++;
    const ts = this.timestamp.value;
    const one = this.#one;
    if (one !== null) return one.emit(record, ts);
    const edges = this.#main;
    for (let i = 0; i < edges.length; i++) edges[i]!.emit(record, ts);
  }

  /** a side output's record: only the edges reading `tag` get it (none: dropped, as Flink drops a tag nobody reads) */
  sideOutput(tag: string, record: unknown): void {
    const edges = this.#sides.get(tag);
    if (!edges) return;
    this.recordsOut++;
    const ts = this.timestamp.value;
    for (let i = 0; i < edges.length; i++) edges[i]!.emit(record, ts);
  }

  /** Sends the task's watermark after the records emitted before it, to every consumer. */
  emitWatermark(timestamp: number): void {
    if (timestamp <= this.currentWatermark) return;
    this.currentWatermark = timestamp;
    this.broadcastEvent({ type: 'watermark', timestamp });
  }

  emitWatermarkStatus(status: 'idle' | 'active'): void {
    this.broadcastEvent({ type: 'watermark-status', status });
  }

  flush(): void {
    for (const e of this.edges) e.flush();
  }

  broadcastEvent(event: ChannelMessage): void {
    for (const e of this.edges) e.broadcastEvent(event);
  }

  hasCredit(): boolean {
    for (const e of this.edges) if (!e.hasCredit()) return false;
    return true;
  }

  hasPendingRecords(): boolean {
    for (const e of this.edges) if (e.pendingRecords() > 0) return true;
    return false;
  }
}
