// In-flight data of an unaligned checkpoint: the overtaken input buffers of one subtask, encoded as they are captured.
import { packStateValue, valuePackr } from '../checkpoint/state-value-codec.ts';
import type { RecordBatch } from './types.ts';
import { fromWireBatch, toWireBatch, type WrappedBatch } from './wire-batch.ts';

// records are encoded in the state value format: Maps, Sets, Dates, undefined, -0, BigInt survive
const WHAT = 'an in-flight record batch';

/** Encodes one data batch; done at capture, so later in-place changes by user functions cannot leak in. */
export function encodeBatch(batch: RecordBatch): Uint8Array {
  return Uint8Array.prototype.slice.call(packStateValue(toWireBatch(batch), WHAT)); // a copy: the writer's buffer is reused
}

export function decodeBatch(bytes: Uint8Array): RecordBatch {
  return fromWireBatch(valuePackr.unpack(bytes) as unknown[] | WrappedBatch);
}

/** Estimated encoded size of queued batches: the first record's size times the records (cheap enough per checkpoint). */
export function estimateBytes(batches: Iterable<RecordBatch>): number {
  let perRecord = -1;
  let bytes = 0;
  for (const batch of batches) {
    if (batch.length === 0) continue;
    // a timestamp is 9 bytes more (a float64)
    if (perRecord < 0) perRecord = packStateValue(batch[0], WHAT).length + (batch.timestamps === undefined ? 0 : 9);
    bytes += perRecord * batch.length;
  }
  return bytes;
}

/** Per input channel, the encoded buffers a pending unaligned checkpoint must persist. */
export class InFlightData {
  readonly buffers: Uint8Array[][];
  bytes = 0;
  records = 0;

  constructor(channels: number) {
    this.buffers = Array.from({ length: channels }, () => []);
  }

  add(channel: number, batch: RecordBatch): void {
    if (batch.length === 0) return;
    const bytes = encodeBatch(batch);
    this.buffers[channel]!.push(bytes);
    this.bytes += bytes.length;
    this.records += batch.length;
  }

  /** The decoded batches of one channel, oldest first (specs and restore). */
  batches(channel: number): RecordBatch[] {
    return this.buffers[channel]!.map(decodeBatch);
  }
}
