// A data batch in a form the value codec can write (unaligned in-flight data, cluster frames): the timestamps beside the records become a plain array of their own.
import type { RecordBatch } from './types.ts';

/**
 * A batch with timestamped records: each record's value and its event timestamp (null: none). A
 * batch without any stays the array itself (no cost). Side outputs need nothing here: the producer
 * routes them by tag, so a channel carries one output (main or one side output) of its producer.
 */
export interface WrappedBatch {
  values: unknown[];
  timestamps: Array<number | null>;
}

/** The plain form of `batch`: the array itself when no record has a timestamp. */
export function toWireBatch(batch: RecordBatch): unknown[] | WrappedBatch {
  const stamps = batch.timestamps;
  if (stamps === undefined) return batch;
  const values: unknown[] = new Array(batch.length);
  const timestamps: Array<number | null> = new Array(batch.length);
  for (let j = 0; j < batch.length; j++) {
    const ts = stamps[j];
    values[j] = batch[j];
    timestamps[j] = ts === undefined || Number.isNaN(ts) ? null : ts;
  }
  return { values, timestamps };
}

/** The batch `toWireBatch` made the plain form of. */
export function fromWireBatch(plain: unknown[] | WrappedBatch): RecordBatch {
  if (Array.isArray(plain)) return plain;
  const { values, timestamps } = plain;
  const batch: RecordBatch = values;
  if (timestamps.some((ts) => ts !== null && ts !== undefined)) batch.timestamps = timestamps.map((ts) => ts ?? NaN);
  return batch;
}
