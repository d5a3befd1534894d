// In-flight data of an unaligned checkpoint: the overtaken input buffers of one subtask, encoded as they are captured.
import { packStateValue, valuePackr } from '../checkpoint/state-value-codec.ts';
import { TimestampedRecord } from '../operators/event-time.ts';

// records are encoded in the state value format: Maps, Sets, Dates, undefined, -0, BigInt survive
const WHAT = 'an in-flight record batch';

/** Encodes one data batch; done at capture, so later in-place changes by user functions cannot leak in. */
export function encodeBatch(batch: unknown[]): Uint8Array {
  return Uint8Array.prototype.slice.call(packStateValue(timestamped(batch) ?? batch, WHAT)); // a copy: the writer's buffer is reused
}

/** A batch with event timestamps is kept as its values and their timestamps (null: none), a batch without as the array itself. */
interface TimestampedBatch {
  values: unknown[];
  timestamps: Array<number | null>;
}

function timestamped(batch: unknown[]): TimestampedBatch | null {
  if (!batch.some((r) => r instanceof TimestampedRecord)) return null;
  const values = batch.map((r) => (r instanceof TimestampedRecord ? r.value : r));
  const timestamps = batch.map((r) => (r instanceof TimestampedRecord ? r.timestamp : null));
  return { values, timestamps };
}

export function decodeBatch(bytes: Uint8Array): unknown[] {
  const decoded = valuePackr.unpack(bytes) as unknown[] | TimestampedBatch;
  if (Array.isArray(decoded)) return decoded;
  return decoded.values.map((v, i) => (decoded.timestamps[i] === null ? v : new TimestampedRecord(v, decoded.timestamps[i]!)));
}

/** Estimated encoded size of queued batches: the first record's size times the records (cheap enough per checkpoint). */
export function estimateBytes(batches: Iterable<unknown[]>): number {
  let perRecord = -1;
  let bytes = 0;
  for (const batch of batches) {
    if (batch.length === 0) continue;
    if (perRecord < 0) perRecord = packStateValue(batch[0] instanceof TimestampedRecord ? batch[0].value : batch[0], WHAT).length + (batch[0] instanceof TimestampedRecord ? 9 : 0);
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

  add(channel: number, batch: unknown[]): void {
    if (batch.length === 0) return;
    const bytes = encodeBatch(batch);
    this.buffers[channel]!.push(bytes);
    this.bytes += bytes.length;
    this.records += batch.length;
  }

  /** The decoded batches of one channel, oldest first (specs and restore). */
  batches(channel: number): unknown[][] {
    return this.buffers[channel]!.map(decodeBatch);
  }
}
