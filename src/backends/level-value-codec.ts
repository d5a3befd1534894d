// Values of the level backend: MessagePack (msgpackr, the snapshot codec) carried through LevelDB as Latin-1 text.
import { packr } from './snapshot-codec.ts';

/**
 * Why text: classic-level hands a read value back either as a Buffer (a fresh external backing
 * store per read, which costs about a microsecond and pushes V8 into extra full GCs) or as a
 * string (an ordinary young-generation V8 string). Every MessagePack byte maps to one Latin-1
 * character, so the bytes survive exactly; LevelDB stores the characters as UTF-8 (bytes >= 0x80
 * take two). The value format inside is plain MessagePack, the same as snapshots.
 */
export const VALUE_ENCODING = 'utf8';

export function encodeValue(value: unknown): string {
  return packr.pack(value).toString('latin1');
}

/** `bytes` is the Latin-1 text a read returned (each char one MessagePack byte). */
export function decodeValue(text: string): unknown {
  // a fresh Buffer per value: msgpackr may return views into its input for binary data
  return packr.unpack(Buffer.from(text, 'latin1'));
}
