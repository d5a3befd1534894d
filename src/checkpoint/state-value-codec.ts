// The state value format: the one MessagePack encoding of values in working state, snapshots, savepoints and in-flight data.
// 'msgpackr/pack' is msgpackr's encoder and decoder without its native string extraction, whose addon costs a job's
// start-up a few ms: loadNativeDecoding loads it before a large decode
import { addExtension, Packr } from 'msgpackr/pack';
import { StateValueError } from '../errors.ts';
import { isPackedLeaf, isWellFormed, LONE_SURROGATE_TAG, MAP_TAG, ValueWriter } from './value-writer.ts';

/**
 * Plain MessagePack plus extensions: `undefined` (msgpackr's ext 0), Set (`s`), Date (timestamp),
 * typed arrays, RegExp and big BigInts (msgpackr's structured-clone types), shared and cyclic
 * references (msgpackr's `i`/`p`), and floe's own: Map (`m`, over one array of keys and values),
 * -0 (`z`, only from the slow path; the fast writer writes -0 as a float), a string with a lone
 * surrogate (`u`, its code units: MessagePack strings are UTF-8, which has no place for one) and, on
 * the slow path only, an object with such a key (`o`, keys and values). Maps need their own
 * tag because msgpackr with `useRecords: false` reads every MessagePack map as a plain object (so
 * `new Map([[1, 2]])` came back as `{ '1': 2 }`), and packs a Map before it looks at extensions:
 * the slow path hands msgpackr a `MapTag` wrapper instead.
 */
class MapTag {
  /** keys and values interleaved: no array per entry to allocate when decoding */
  constructor(readonly flat: unknown[]) {}
}
class NegativeZero {}
/** A plain object with a key that has a lone surrogate, for msgpackr (which writes keys as UTF-8): keys and values interleaved. */
class LoneKeyObject {
  constructor(readonly flat: unknown[]) {}
}
const LONE_KEY_OBJECT_TAG = 0x6f;
/** A string with a lone surrogate, for msgpackr (which writes strings as UTF-8): its code units. */
class LoneSurrogates {
  constructor(readonly units: number[]) {}
}
const NEGATIVE_ZERO_TAG = 0x7a;

// msgpackr's extensions are global to the module: registered once, they apply to every Packr
addExtension({
  Class: MapTag,
  type: MAP_TAG,
  write: (t: MapTag) => t.flat,
  read: (flat: unknown[]) => {
    const m = new Map();
    for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i], flat[i + 1]);
    return m;
  },
});
addExtension({ Class: NegativeZero, type: NEGATIVE_ZERO_TAG, write: () => 0, read: () => -0 });
addExtension({
  Class: LoneKeyObject,
  type: LONE_KEY_OBJECT_TAG,
  write: (t: LoneKeyObject) => t.flat,
  read: (flat: unknown[]) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i] as string] = flat[i + 1];
    return o;
  },
});
addExtension({
  Class: LoneSurrogates,
  type: LONE_SURROGATE_TAG,
  write: (t: LoneSurrogates) => t.units,
  read: (units: number[]) => {
    let out = '';
    // in slices: a spread of millions of arguments overflows the stack
    for (let i = 0; i < units.length; i += 8192) out += String.fromCharCode(...units.slice(i, i + 8192));
    return out;
  },
});

const options = { structuredClone: true, useRecords: false, moreTypes: true } as const;
/** Decodes the format (and packs the slow path's prepared values). */
export const valuePackr = new Packr(options);
/** The same, with decoded binary data copied out of the source (the source buffer is reused). */
export const copyingValuePackr = new Packr({ ...options, copyBuffers: true });

let nativeDecoding: Promise<void> | undefined;

/**
 * Turns on msgpackr's native string extraction (msgpackr-extract), which decodes large string-heavy
 * buffers faster; the values decoded are the same without it. Importing msgpackr's full entry sets it
 * for every Packr. Readers of snapshots and checkpoint metadata await this before they decode, so a
 * job that restores nothing never loads the native addon (it is optional: without it, decoding is
 * msgpackr's JavaScript).
 */
export function loadNativeDecoding(): Promise<void> {
  return (nativeDecoding ??= import('msgpackr').then(
    () => undefined,
    () => undefined,
  ));
}

/**
 * Encodes `value` into `w` at its position; `what` names it in errors (`state "counts"`, `an
 * in-flight record`). Fast path first; on anything it does not write, the slow path.
 */
export function writeStateValue(w: ValueWriter, value: unknown, what: string, path = 'value'): void {
  const start = w.pos;
  w.entry();
  if (w.value(value)) return;
  w.pos = start;
  const bytes = valuePackr.pack(prepare(value, what, path, new Map(), new Set()));
  w.ensure(bytes.length);
  w.pos += bytes.copy(w.buf, w.pos);
}

let shared = new ValueWriter(4096);

/** Writes `value` into the shared writer from its start; the writer to read the bytes from (before the next call). */
function packShared(value: unknown, what: string): ValueWriter {
  const w = shared;
  w.pos = 0;
  writeStateValue(w, value, what);
  // one huge value must not keep a huge buffer alive for the next ones
  if (w.buf.length > 1 << 24) shared = new ValueWriter(4096);
  return w;
}

/** One value's bytes; a view of a reused buffer, valid until the next call (copy or convert it at once). */
export function packStateValue(value: unknown, what: string): Buffer {
  const w = packShared(value, what);
  return w.buf.subarray(0, w.pos);
}

const ONE_BYTE = Array.from({ length: 256 }, (_, b) => String.fromCharCode(b));

/** Node's Buffer reads Latin-1 without `toString`'s encoding lookup (a method of every Buffer, not in its typings). */
type LatinReader = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * One value's bytes as Latin-1 text (one character per byte), read straight from the reused buffer:
 * no Buffer view is made per value (the level backend converts every value it writes).
 */
export function packStateValueLatin1(value: unknown, what: string): string {
  const w = packShared(value, what);
  // one byte (a small integer, true, false, null: counters mostly): a string made once, not per value
  return w.pos === 1 ? ONE_BYTE[w.buf[0]!]! : (w.buf as LatinReader).latin1Slice(0, w.pos);
}

/** A copy of `value` that msgpackr encodes exactly (Maps as MapTag, -0 tagged), or a StateValueError naming what cannot be. */
export function prepare(v: unknown, what: string, path: string, seen: Map<object, unknown>, open: Set<object>): unknown {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? new NegativeZero() : v;
    case 'string':
      return isWellFormed(v) ? v : new LoneSurrogates(Array.from({ length: v.length }, (_, i) => v.charCodeAt(i)));
    case 'boolean':
    case 'undefined':
    case 'bigint':
      return v;
    case 'object':
      break;
    default:
      throw notSerializable(what, path, `a ${typeof v}`);
  }
  if (v === null) return null;
  if (seen.has(v)) {
    // msgpackr rebuilds a cycle only through an array, an object or a Set
    if (open.has(v) && v instanceof Map) throw notSerializable(what, path, 'a Map that contains itself');
    if (open.has(v)) throw notSerializable(what, path, 'an object with a lone surrogate in a key that contains itself');
    return seen.get(v);
  }
  if (Array.isArray(v) && v.constructor === Array) {
    const copy: unknown[] = new Array(v.length);
    seen.set(v, copy);
    // holes become undefined (a sparse array is restored dense)
    for (let i = 0; i < v.length; i++) copy[i] = prepare(v[i], what, `${path}[${i}]`, seen, open);
    return copy;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    // symbol keys are left out, as structuredClone leaves them out
    const keys = Object.keys(v);
    if (!keys.every(isWellFormed)) {
      // msgpackr writes keys as UTF-8, a lone surrogate would become U+FFFD: keys and values under floe's `o` tag
      const tag = new LoneKeyObject([]);
      seen.set(v, tag);
      open.add(v);
      for (const k of keys)
        tag.flat.push(
          prepare(k, what, `${path}<key>`, seen, open),
          prepare((v as Record<string, unknown>)[k], what, `${path}.${k}`, seen, open),
        );
      open.delete(v);
      return tag;
    }
    const copy: Record<string, unknown> = {};
    seen.set(v, copy);
    for (const k of keys) copy[k] = prepare((v as Record<string, unknown>)[k], what, `${path}.${k}`, seen, open);
    return copy;
  }
  if (v.constructor === Map) {
    const tag = new MapTag([]);
    seen.set(v, tag);
    open.add(v);
    let i = 0;
    for (const [k, x] of v as Map<unknown, unknown>) {
      tag.flat.push(prepare(k, what, `${path}<key ${i}>`, seen, open), prepare(x, what, `${path}<value ${i}>`, seen, open));
      i++;
    }
    open.delete(v);
    return tag;
  }
  if (v.constructor === Set) {
    const copy = new Set<unknown>();
    seen.set(v, copy);
    let i = 0;
    for (const x of v as Set<unknown>) copy.add(prepare(x, what, `${path}<element ${i++}>`, seen, open));
    return copy;
  }
  if (isPackedLeaf(v)) {
    seen.set(v, v);
    return v;
  }
  throw notSerializable(what, path, `an instance of ${(v.constructor as { name?: string } | undefined)?.name || 'a class'}`);
}

function notSerializable(what: string, path: string, type: string): StateValueError {
  return new StateValueError(
    'FLOE_STATE_VALUE_NOT_SERIALIZABLE',
    `${what} holds ${type} at ${path}, which cannot be written to a snapshot`,
    {
      hint: 'keep plain data in state (numbers, strings, BigInt, plain objects, arrays, Map, Set, Date, typed arrays): store a class instance as its fields and rebuild it after reading',
    },
  );
}
