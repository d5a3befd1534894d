// LevelDB keys of the level backend: key group, then state id, then the serialised user key (so key-group ranges are one scan).

/** Bytes before the user key: key group (u16) and state id (u16), big-endian so keys sort by group, then state. */
export const KEY_PREFIX_BYTES = 4;

/**
 * The serialised form of a key: strings as `s` + the string; other keys by a tagged canonical
 * form starting with NUL (numbers `\0n1`, tuples `\0j["a",1]`), so 1 and "1" stay different keys
 * and equal tuples meet, as in the heap backend.
 */
export function keyTag(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return 's' + key;
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
      return JSON.parse(rest);
  }
}

export function encodeKey(keyGroup: number, stateId: number, tag: string): Buffer {
  const n = Buffer.byteLength(tag);
  const b = Buffer.allocUnsafe(KEY_PREFIX_BYTES + n);
  b.writeUInt16BE(keyGroup, 0);
  b.writeUInt16BE(stateId, 2);
  b.write(tag, KEY_PREFIX_BYTES, n, 'utf8');
  return b;
}

/** The first key of `keyGroup` (exclusive upper bound of the group before it). */
export function keyGroupPrefix(keyGroup: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(keyGroup);
  return b;
}

export function decodeKey(b: Uint8Array): { keyGroup: number; stateId: number; tag: string } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return { keyGroup: buf.readUInt16BE(0), stateId: buf.readUInt16BE(2), tag: buf.toString('utf8', KEY_PREFIX_BYTES) };
}
