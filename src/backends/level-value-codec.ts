// Values of the level backend: the state value format (MessagePack, as in snapshots) carried through LevelDB as Latin-1 text.
// msgpackr's full entry: its native string extraction for every value read back (the codec loads msgpackr/pack)
import 'msgpackr';
import { copyingValuePackr, packStateValueLatin1 } from '../checkpoint/state-value-codec.ts';

/**
 * Why text: classic-level hands a read value back either as a Buffer (a fresh external backing
 * store per read, which costs about a microsecond and pushes V8 into extra full GCs) or as a
 * string (an ordinary young-generation V8 string). Every MessagePack byte maps to one Latin-1
 * character, so the bytes survive exactly; LevelDB stores the characters as UTF-8 (bytes >= 0x80
 * take two). The value format inside is the state value format (state-value-codec.ts): a Map
 * value evicted from the cache and read back from LevelDB is a Map again, not a plain object.
 */
export const VALUE_ENCODING = 'utf8';

// copyBuffers: decoded binary data must not be a view of the reused read buffer below
const packr = copyingValuePackr;

/** one buffer that every read's text is copied into before decoding (msgpackr reads a Uint8Array) */
let scratch = Buffer.allocUnsafe(4096);

/** `state` names the state in the error for a value that cannot be encoded (a function, a class instance). */
export function encodeValue(value: unknown, state = '?'): string {
  let what = labels.get(state);
  if (what === undefined) labels.set(state, (what = `state "${state}"`));
  return packStateValueLatin1(value, what);
}

/** error labels by state name: not a new string per write */
const labels = new Map<string, string>();

/** `text` is what a read returned: one Latin-1 character per MessagePack byte. */
export function decodeValue(text: string): unknown {
  const n = text.length;
  if (n > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n, 2 * scratch.length));
  scratch.write(text, 0, n, 'latin1');
  return packr.unpack(scratch, n);
}
