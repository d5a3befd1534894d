// Key groups (Flink's KeyGroupRangeAssignment): key -> murmur hash -> key group -> subtask by range.
import type { KeyGroupRange } from './types.ts';

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's last odd UTF-16 code unit. */
function tail(h: number, unit: number): number {
  let k = Math.imul(unit, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return h ^ Math.imul(k, 0x1b873593);
}

/** murmur3's finalization of a hash over `n` UTF-16 code units (2n bytes). */
function finish(h: number, n: number): number {
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** murmur3 of `s` as a signed 32-bit integer: callers turn it unsigned only where they must (a uint32 above 2^31 is a double to V8). */
function murmurString32(s: string): number {
  let h = 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mix(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  return finish(i < n ? tail(h, s.charCodeAt(i)) : h, n);
}

/** The UTF-16 code units of an integer key's canonical form (`\u0000n` and its digits), written at its end per key: no string is made. */
const units = new Int32Array(16);

/**
 * murmurString32(canonicalKey(key)) for an integer key above -2^31 and below 2^31, without making the
 * string (a number-to-string conversion and a concatenation per keyed record, the larger part of
 * hashing a number key): the digits are written as code units and hashed as murmurString32 hashes a string.
 */
function murmurInt32(key: number): number {
  // from the end: the digits, '-', 'n', '\u0000' ('-0' is '0', as in canonicalKey); integer division by 10
  let v = key < 0 ? -key : key;
  let start = 16;
  do {
    units[--start] = 48 + (v % 10);
    v = (v / 10) | 0;
  } while (v !== 0);
  if (key < 0) units[--start] = 45;
  units[--start] = 110;
  units[--start] = 0;
  const n = 16 - start;
  let h = 0;
  let i = start;
  for (; i + 1 < 16; i += 2) h = mix(h, units[i]! | (units[i + 1]! << 16));
  return finish(i < 16 ? tail(h, units[i]!) : h, n);
}

/** murmur3 (signed) of a key's canonical form. */
function murmurKey32(key: unknown): number {
  if (typeof key === 'string') return murmurString32(key);
  if (typeof key === 'number' && (key | 0) === key && key !== -2147483648) return murmurInt32(key);
  return murmurString32(canonicalKey(key));
}

/** A canonical string form of a key: strings as they are, other values tagged so types do not collide. */
export function canonicalKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return key;
    case 'number':
      return `\u0000n${Object.is(key, -0) ? 0 : key}`;
    case 'bigint':
      return `\u0000b${key}`;
    case 'boolean':
      return `\u0000${key ? 't' : 'f'}`;
    case 'undefined':
      return '\u0000u';
    default:
      return key === null ? '\u0000z' : `\u0000j${JSON.stringify(key)}`;
  }
}

/** 32-bit murmur3 of the key's canonical form (UTF-16 code units; no encoding on the hot path). */
export function murmurHash(key: unknown): number {
  return murmurKey32(key) >>> 0;
}

/**
 * `(h >>> 0) % m` for a signed 32-bit `h` and `m` <= 32768, in integer operations only: the
 * unsigned hash is a double to V8 when it is above 2^31, and `%` on a double is a call to fmod
 * (in a CPU profile of a keyed word count, more of assignToKeyGroup's time than the hash itself).
 */
function unsignedMod(h: number, m: number): number {
  // a power of two (the default 128) is the hash's low bits, the same in the signed and the unsigned
  // form: a mask instead of two integer divisions (tens of cycles each, per keyed record)
  if ((m & (m - 1)) === 0) return h & (m - 1);
  return ((((h >>> 16) % m) << 16) + (h & 0xffff)) % m;
}

function checkMaxParallelism(maxParallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > 32768) {
    throw new RangeError(`maxParallelism must be an integer in 1..32768, got ${maxParallelism}`);
  }
}

export function computeKeyGroupForKeyHash(hash: number, maxParallelism: number): number {
  return hash % maxParallelism;
}

export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  return unsignedMod(murmurKey32(key), maxParallelism);
}

export function keyGroupRangeForSubtask(maxParallelism: number, parallelism: number, subtaskIndex: number): KeyGroupRange {
  checkMaxParallelism(maxParallelism);
  if (parallelism < 1 || parallelism > maxParallelism) throw new RangeError(`parallelism ${parallelism} must be in 1..${maxParallelism}`);
  const start = Math.ceil((subtaskIndex * maxParallelism) / parallelism);
  const end = Math.ceil(((subtaskIndex + 1) * maxParallelism) / parallelism) - 1;
  return { start, end };
}

export function subtaskForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}
