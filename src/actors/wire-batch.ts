// A data batch in a form the value codec can write (unaligned in-flight data, cluster frames): the runtime's record wrappers become plain arrays beside the values.
import { TimestampedRecord } from '../operators/event-time.ts';

/**
 * A batch with timestamped records: each record's value and its event timestamp (null: none). A
 * batch without any stays the array itself (no cost). Side outputs need nothing here: the producer
 * routes them by tag, so a channel carries one output (main or one side output) of its producer.
 */
export interface WrappedBatch {
  values: unknown[];
  timestamps: Array<number | null>;
}

/** The plain form of `batch`: the array itself when no record is wrapped. */
export function toWireBatch(batch: unknown[]): unknown[] | WrappedBatch {
  let i = 0;
  while (i < batch.length && !(batch[i] instanceof TimestampedRecord)) i++;
  if (i === batch.length) return batch;
  const values: unknown[] = new Array(batch.length);
  const timestamps: Array<number | null> = new Array(batch.length);
  for (let j = 0; j < batch.length; j++) {
    const r = batch[j];
    if (r instanceof TimestampedRecord) {
      timestamps[j] = r.timestamp;
      values[j] = r.value;
    } else {
      timestamps[j] = null;
      values[j] = r;
    }
  }
  return { values, timestamps };
}

/** The batch `toWireBatch` made the plain form of. */
export function fromWireBatch(plain: unknown[] | WrappedBatch): unknown[] {
  if (Array.isArray(plain)) return plain;
  const { values, timestamps } = plain;
  return values.map((v, i) => {
    const ts = timestamps[i];
    return ts === null || ts === undefined ? v : new TimestampedRecord(v, ts);
  });
}

/** The record a wrapper carries (for size estimates). */
export function unwrapRecord(r: unknown): unknown {
  return r instanceof TimestampedRecord ? r.value : r;
}
