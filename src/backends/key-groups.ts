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

/** murmur3 of `s` as a signed 32-bit integer: callers turn it unsigned only where they must (a uint32 above 2^31 is a double to V8). */
function murmurString32(s: string): number {
  let h = 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mix(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
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
  return murmurString32(typeof key === 'string' ? key : canonicalKey(key)) >>> 0;
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
  return unsignedMod(murmurString32(typeof key === 'string' ? key : canonicalKey(key)), maxParallelism);
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
