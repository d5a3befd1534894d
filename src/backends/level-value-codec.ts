// Values of the level backend: MessagePack (msgpackr, the snapshot codec's format) carried through LevelDB as Latin-1 text.
import { Packr } from 'msgpackr';

/**
 * Why text: classic-level hands a read value back either as a Buffer (a fresh external backing
 * store per read, which costs about a microsecond and pushes V8 into extra full GCs) or as a
 * string (an ordinary young-generation V8 string). Every MessagePack byte maps to one Latin-1
 * character, so the bytes survive exactly; LevelDB stores the characters as UTF-8 (bytes >= 0x80
 * take two). The value format inside is plain MessagePack with the snapshot codec's options.
 */
export const VALUE_ENCODING = 'utf8';

// the snapshot codec's options, plus copyBuffers: decoded binary data must not be a view of the
// reused read buffer below
const packr = new Packr({ structuredClone: true, useRecords: false, moreTypes: true, copyBuffers: true });

/** one buffer that every read's text is copied into before decoding (msgpackr reads a Uint8Array) */
let scratch = Buffer.allocUnsafe(4096);

export function encodeValue(value: unknown): string {
  return packr.pack(value).toString('latin1');
}

/** `text` is what a read returned: one Latin-1 character per MessagePack byte. */
export function decodeValue(text: string): unknown {
  const n = text.length;
  if (n > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n, 2 * scratch.length));
  scratch.write(text, 0, n, 'latin1');
  return packr.unpack(scratch, n);
}
