// LevelDB keys of the level backend: key group, then state id, then the serialised user key (so key-group ranges are one scan).
import { isWellFormed } from '../checkpoint/value-writer.ts';

/**
 * Keys are JS strings stored as UTF-8 (classic-level writes them into one reused native buffer, so
 * a read allocates no key Buffer). The prefix is key group then state id, each as three 7-bit
 * characters (0x00-0x7f are one UTF-8 byte each, so byte order is numeric order: a key-group range
 * is one scan, and the local layout never leaves the working directory).
 */
export const KEY_PREFIX_CHARS = 6;

const ascii3 = (n: number) => String.fromCharCode(n >> 14, (n >> 7) & 127, n & 127);
const read3 = (s: string, at: number) => (s.charCodeAt(at) << 14) | (s.charCodeAt(at + 1) << 7) | s.charCodeAt(at + 2);

/**
 * The serialised form of a key: strings as `s` + the string (a string with a lone surrogate as
 * `\0w` + its JSON); other keys by a tagged canonical form starting with NUL (numbers `\0n1`,
 * tuples `\0j["a",1]`), so 1 and "1" stay different keys and equal tuples meet, as in the heap backend.
 */
export function keyTag(key: unknown): string {
  switch (typeof key) {
    case 'string':
      // LevelDB keeps keys as UTF-8, which turns a lone surrogate into U+FFFD (two keys would collide):
      // such a string goes as JSON, whose escapes keep every code unit
      return isWellFormed(key) ? 's' + key : `\u0000w${JSON.stringify(key)}`;
    case 'number':
      return `\u0000n${Object.is(key, -0) ? 0 : key}`;
    case 'bigint':
      return `\u0000b${key}`;
    case 'boolean':
      return key ? '\u0000t' : '\u0000f';
    case 'undefined':
      return '\u0000u';
    default:
      return key === null ? '\u0000z' : `\u0000j${JSON.stringify(key)}`;
  }
}

/** The key back from its tag (tuples and objects come back as their JSON form). */
export function keyFromTag(tag: string): unknown {
  if (tag.charCodeAt(0) !== 0) return tag.slice(1);
  const rest = tag.slice(2);
  switch (tag[1]) {
    case 'n':
      return Number(rest);
    case 'b':
      return BigInt(rest);
    case 't':
      return true;
    case 'f':
      return false;
    case 'u':
      return undefined;
    case 'z':
      return null;
    default:
      // `j` (tuples and objects) and `w` (strings with a lone surrogate): JSON
      return JSON.parse(rest);
  }
}

/** The prefix of every key of one state in one key group (the backend caches these per state). */
export function statePrefix(keyGroup: number, stateId: number): string {
  return ascii3(keyGroup) + ascii3(stateId);
}

export function encodeKey(keyGroup: number, stateId: number, tag: string): string {
  return statePrefix(keyGroup, stateId) + tag;
}

/** The first key of `keyGroup` (exclusive upper bound of the group before it). */
export function keyGroupPrefix(keyGroup: number): string {
  return ascii3(keyGroup);
}

export function decodeKey(key: string): { keyGroup: number; stateId: number; tag: string } {
  return { keyGroup: read3(key, 0), stateId: read3(key, 3), tag: key.slice(KEY_PREFIX_CHARS) };
}
