// Output writers: partition records onto a task's output channels, in batches (network buffers).
import { assignToKeyGroup, subtaskForKeyGroup } from '../backends/key-groups.ts';
import type { Partitioning } from '../graph/transformation.ts';
import type { Output } from '../operators/operator.ts';
import type { Channel } from './channel.ts';
import type { ChannelMessage } from './types.ts';

/** The channels of one outgoing edge (one per consumer subtask) and how records pick one. */
export class EdgeWriter {
  readonly #batches: unknown[][];
  #roundRobin: number;

  constructor(
    readonly channels: Channel[],
    readonly partitioning: Partitioning,
    readonly batchSize: number,
    readonly maxParallelism: number,
    producerSubtask: number,
  ) {
    this.#batches = channels.map(() => []);
    this.#roundRobin = producerSubtask % channels.length;
  }

  emit(record: unknown): void {
    const p = this.partitioning;
    switch (p.type) {
      case 'forward':
        return this.#add(0, record);
      case 'hash': {
        const n = this.channels.length;
        const target = n === 1 ? 0 : subtaskForKeyGroup(this.maxParallelism, n, assignToKeyGroup(p.keySelector(record), this.maxParallelism));
        return this.#add(target, record);
      }
      case 'rebalance': {
        const target = this.#roundRobin;
        this.#roundRobin = (target + 1) % this.channels.length;
        return this.#add(target, record);
      }
      case 'broadcast':
        for (let i = 0; i < this.channels.length; i++) this.#add(i, record);
    }
  }

  #add(channel: number, record: unknown): void {
    const batch = this.#batches[channel]!;
    batch.push(record);
    if (batch.length >= this.batchSize) {
      this.#batches[channel] = [];
      this.channels[channel]!.push({ type: 'data', batch });
    }
  }

  /** Sends every partial batch (before an event, or when the task goes idle). */
  flush(): void {
    for (let i = 0; i < this.#batches.length; i++) {
      const batch = this.#batches[i]!;
      if (batch.length === 0) continue;
      this.#batches[i] = [];
      this.channels[i]!.push({ type: 'data', batch });
    }
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
    for (const b of this.#batches) n += b.length;
    return n;
  }
}

/** The task's output: every outgoing edge receives every record. */
export class OutputWriter implements Output<unknown> {
  recordsOut = 0;
  constructor(readonly edges: EdgeWriter[]) {}

  collect(record: unknown): void {
    this.recordsOut++;
    const edges = this.edges;
    for (let i = 0; i < edges.length; i++) edges[i]!.emit(record);
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
