// A data batch in a form the value codec can write (unaligned in-flight data, cluster frames): the runtime's record wrappers become plain arrays beside the values.
import { TimestampedRecord } from '../operators/event-time.ts';
import { SideOutputRecord } from '../operators/output-tag.ts';

/**
 * A batch with wrapped records: each record's value, its event timestamp (null: none) and its side
 * output tag (null: the main output). A batch without any stays the array itself (no cost).
 */
export interface WrappedBatch {
  values: unknown[];
  timestamps: Array<number | null>;
  tags?: Array<string | null>;
}

const wrapped = (r: unknown): boolean => r instanceof TimestampedRecord || r instanceof SideOutputRecord;

/** The plain form of `batch`: the array itself when no record is wrapped. */
export function toWireBatch(batch: unknown[]): unknown[] | WrappedBatch {
  if (!batch.some(wrapped)) return batch;
  const values: unknown[] = new Array(batch.length);
  const timestamps: Array<number | null> = new Array(batch.length);
  let tags: Array<string | null> | undefined;
  for (let i = 0; i < batch.length; i++) {
    let r = batch[i];
    timestamps[i] = null;
    if (r instanceof TimestampedRecord) {
      timestamps[i] = r.timestamp;
      r = r.value;
    }
    if (r instanceof SideOutputRecord) {
      (tags ??= new Array(batch.length).fill(null))[i] = r.tag;
      r = r.value;
    }
    values[i] = r;
  }
  return tags ? { values, timestamps, tags } : { values, timestamps };
}

/** The batch `toWireBatch` made the plain form of. */
export function fromWireBatch(plain: unknown[] | WrappedBatch): unknown[] {
  if (Array.isArray(plain)) return plain;
  const { values, timestamps, tags } = plain;
  return values.map((v, i) => {
    const tag = tags?.[i];
    const record = tag === null || tag === undefined ? v : new SideOutputRecord(tag, v);
    const ts = timestamps[i];
    return ts === null || ts === undefined ? record : new TimestampedRecord(record, ts);
  });
}

/** The record a wrapper carries (for size estimates). */
export function unwrapRecord(r: unknown): unknown {
  if (r instanceof TimestampedRecord) r = r.value;
  return r instanceof SideOutputRecord ? r.value : r;
}
