// Event time's shared pieces: the timestamp of the record in hand, watermark bounds, durations of the API.
import { parseDuration } from '../config/duration.ts';
import { JobDefinitionError } from '../errors.ts';

/** The watermark a finished bounded input sends: every event-time timer and window fires (Flink's Watermark.MAX_WATERMARK). */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;
/** The watermark before any was seen (Flink's Long.MIN_VALUE). */
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;

/**
 * The timestamp of the record being processed, shared by a task's chain and its output writer:
 * an operator reads it for the record in hand and sets it for what it emits (a window its end - 1).
 */
export interface ElementTimestamp {
  current: number | undefined;
}

/**
 * The chain's ElementTimestamp: `value` is a number field (NaN while the record has no timestamp),
 * so the task and the output writer set and read it per record without boxing a number into a
 * heap object (a timestamp is not a small integer) or a write barrier; operators use `current`.
 */
export class RecordTimestamp implements ElementTimestamp {
  /** the timestamp, NaN for none (timestamps are finite: the assigner and timers refuse others) */
  value = NaN;

  get current(): number | undefined {
    const v = this.value;
    return v === v ? v : undefined;
  }

  set current(ts: number | undefined) {
    this.value = ts ?? NaN;
  }
}

/** A duration of the API: milliseconds, or Flink's text ('2s', '1 min'); `what` names it in the error. */
export function durationOf(value: string | number, what: string, options: { allowZero?: boolean } = {}): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (e) {
    if ((typeof value === 'number' && value < 0) || (typeof value === 'string' && value.trim().startsWith('-')))
      throw new JobDefinitionError('FLOE_NEGATIVE_DURATION', `${what} must not be negative, got ${value}`, {
        hint: 'give 0 or more milliseconds, or a text like "10s"',
      });
    throw new JobDefinitionError('FLOE_BAD_DURATION', `${what}: ${(e as Error).message}`, {
      cause: e,
      hint: 'give milliseconds, or a text like "2s", "1 min"',
    });
  }
  if (ms === 0 && !options.allowZero)
    throw new JobDefinitionError('FLOE_BAD_DURATION', `${what} must be larger than 0`, { hint: 'give a positive duration, e.g. "1 min"' });
  return ms;
}
