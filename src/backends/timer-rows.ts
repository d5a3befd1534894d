// Keyed timers as keyed state: the reserved key and state names of the canonical form, and the level backend's sortable keys for them.

/**
 * The timers of a key group are entries of one map state (`_timer_state/event_<name>` or
 * `_timer_state/processing_<name>`), held under this reserved key placed in that key group: every
 * backend snapshots them (full and incremental), savepoints carry them in the canonical format, and a
 * rescale or a backend switch moves them with their key groups. Entry: `timerId(ts, key)` → [ts, key].
 */
export const TIMERS_KEY = '\u0000floe:timers';

/** Every timer state's name starts with this. */
export const TIMER_STATE_PREFIX = '_timer_state/';

export const isTimerState = (name: string): boolean => name.startsWith(TIMER_STATE_PREFIX);

/** A key's part of a timer's id: tagged, so 1 and "1" stay two keys. */
export function keyId(key: unknown): string {
  return typeof key === 'string' ? `s${key}` : typeof key === 'number' ? `n${key}` : `j${JSON.stringify(key)}`;
}

/** The map-state key of a timer in the canonical form: `<timestamp>\0<key id>`. */
export const timerId = (ts: number, key: unknown): string => `${ts}\u0000${keyId(key)}`;

const f64 = new DataView(new ArrayBuffer(8));
/** hex digit character codes */
const hexChar = (n: number) => (n < 10 ? 0x30 + n : 0x57 + n);
const codes: number[] = new Array<number>(16);

/**
 * A timestamp as 16 hex digits that sort as the numbers do (IEEE 754 bits, sign flipped for positive
 * numbers and every bit for negative ones): LevelDB's byte order is then time order. Made in one
 * call (no string per digit).
 */
export function sortableTime(ts: number): string {
  f64.setFloat64(0, ts === 0 ? 0 : ts); // -0 is 0
  const negative = f64.getUint8(0) >= 0x80;
  for (let i = 0; i < 8; i++) {
    const raw = f64.getUint8(i);
    const b = negative ? 255 - raw : i === 0 ? raw ^ 0x80 : raw;
    codes[2 * i] = hexChar(b >> 4);
    codes[2 * i + 1] = hexChar(b & 15);
  }
  return String.fromCharCode.apply(null, codes);
}

const nibble = (c: number) => (c <= 0x39 ? c - 0x30 : c - 0x57);

/** The timestamp back from its first 16 characters (sortableTime). */
export function timeFromSortable(s: string): number {
  const negative = s.charCodeAt(0) < 0x38; // first byte below 0x80
  for (let i = 0; i < 8; i++) {
    const b = (nibble(s.charCodeAt(2 * i)) << 4) | nibble(s.charCodeAt(2 * i + 1));
    f64.setUint8(i, negative ? 255 - b : i === 0 ? b ^ 0x80 : b);
  }
  return f64.getFloat64(0);
}

const ascii3 = (n: number) => String.fromCharCode(n >> 14, (n >> 7) & 127, n & 127);

/**
 * Where a timer sorts among the pending ones: time, key group, key id. Plain ASCII (a key id with
 * other characters is escaped), so JavaScript's string order and LevelDB's byte order agree: the
 * heap head of the level timer queue compares these with the keys LevelDB returns.
 */
export function timerSortKey(ts: number, keyGroup: number, key: unknown): string {
  const id = keyId(key);
  // eslint-disable-next-line no-control-regex
  return sortableTime(ts) + ascii3(keyGroup) + (/^[\x00-\x7f]*$/.test(id) ? `a${id}` : `e${escape(id)}`);
}
