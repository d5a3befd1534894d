// Encodes keyed-state snapshots with msgpackr: the canonical object (format 1) and the streamed full/delta form (format 2).
import { Packr } from 'msgpackr';
import { CheckpointError } from '../errors.ts';
import type { KeyedStateSnapshot, StateKind } from './types.ts';

// structuredClone-style round trips (Map, Set, Date, undefined) without record extensions, so the bytes stay plain MessagePack + ext
export const packr = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });

/**
 * Format 2 is a stream of frames so that a snapshot of millions of keys is written and read in
 * pieces, never as one object: `FLKS` + version byte, then frames `[u32 length][msgpack]` — a
 * header, chunks of one state in one key group, and a trailer that counts them (a truncated file
 * fails to decode instead of restoring half the state). A `delta` stream holds the changes since
 * the previous snapshot of an incremental chain: puts and deletes (tombstones).
 */
const MAGIC = Buffer.from([0x46, 0x4c, 0x4b, 0x53, 2]);

export interface SnapshotStreamHeader {
  kind: 'full' | 'delta';
  maxParallelism: number;
  states: Record<string, StateKind>;
}

export interface SnapshotChunk {
  keyGroup: number;
  state: string;
  /** [key, value] pairs; list values are arrays, map values [k, v][] */
  puts: Array<[unknown, unknown]>;
  /** keys whose value was removed (delta streams only) */
  deletes?: unknown[];
}

interface Trailer {
  end: true;
  chunks: number;
}

export function encodeSnapshot(snapshot: KeyedStateSnapshot): Uint8Array {
  return packr.pack(snapshot);
}

const corrupt = (why: string, cause?: unknown) =>
  new CheckpointError('FLOE_SNAPSHOT_CORRUPT', `keyed state snapshot cannot be decoded (${why})`, { cause, hint: 'restore from an earlier checkpoint or savepoint' });

export const isSnapshotStream = (bytes: Uint8Array): boolean => bytes.length >= MAGIC.length && Buffer.compare(bytes.subarray(0, MAGIC.length), MAGIC) === 0;

/**
 * A chunk given as the backend holds its entries (heap backends): `{ key, value }` objects, map
 * values as Maps of `[k, v]`. Encoded exactly as the `SnapshotChunk` with `puts` of `[key, value]`
 * (map values as `[k, v][]`) would be, without building those pair arrays first.
 */
export interface EntryChunk {
  keyGroup: number;
  state: string;
  entries: ReadonlyArray<{ key: unknown; value: unknown }>;
  /** values are Maps whose values are `[k, v]` (map state): encoded as arrays of them */
  mapValues: boolean;
}

/**
 * Writes msgpack the way `packr` does for the plain values state is mostly made of (null, booleans,
 * numbers, strings, undefined, arrays and plain objects of them), straight into one buffer: no
 * intermediate arrays, no reference tracking. Any other value (Map, Set, Date, class instances,
 * shared or cyclic references) makes `value` return false, and the caller packs the chunk with
 * `packr` instead, so every value still round-trips as structured clone does. The bytes decode
 * with `packr.unpack` to the same values (objects use map16, which packr reads as an object, not a Map).
 */
class FastWriter {
  buf: Buffer;
  pos = 0;
  /** objects of the value being written: a second visit means a shared or cyclic reference */
  readonly #seen = new Set<object>();

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  string(s: string): void {
    const len = s.length;
    const max = len * 3;
    this.ensure(max + 5);
    const b = this.buf;
    let at = this.pos;
    if (len < 32) {
      // short ASCII strings byte by byte: cheaper than a native call per string
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 1 + i] = c;
      }
      if (i === len) {
        b[at] = 0xa0 | len;
        this.pos = at + 1 + len;
        return;
      }
    }
    // the header is sized for the longest encoding; msgpack allows a longer header than needed
    if (max < 32) {
      const n = b.write(s, at + 1, 'utf8');
      b[at] = 0xa0 | n;
      at += 1 + n;
    } else if (max < 256) {
      const n = b.write(s, at + 2, 'utf8');
      b[at] = 0xd9;
      b[at + 1] = n;
      at += 2 + n;
    } else if (max < 65536) {
      const n = b.write(s, at + 3, 'utf8');
      b[at] = 0xda;
      b.writeUInt16BE(n, at + 1);
      at += 3 + n;
    } else {
      const n = b.write(s, at + 5, 'utf8');
      b[at] = 0xdb;
      b.writeUInt32BE(n, at + 1);
      at += 5 + n;
    }
    this.pos = at;
  }

  number(n: number): void {
    this.ensure(9);
    const b = this.buf;
    const at = this.pos;
    if (Number.isInteger(n) && !Object.is(n, -0) && n >= -0x80000000 && n <= 0xffffffff) {
      if (n >= 0) {
        if (n < 0x80) { b[at] = n; this.pos = at + 1; }
        else if (n < 0x100) { b[at] = 0xcc; b[at + 1] = n; this.pos = at + 2; }
        else if (n < 0x10000) { b[at] = 0xcd; b.writeUInt16BE(n, at + 1); this.pos = at + 3; }
        else { b[at] = 0xce; b.writeUInt32BE(n, at + 1); this.pos = at + 5; }
      } else if (n >= -0x20) { b[at] = n & 0xff; this.pos = at + 1; }
      else if (n >= -0x80) { b[at] = 0xd0; b.writeInt8(n, at + 1); this.pos = at + 2; }
      else if (n >= -0x8000) { b[at] = 0xd1; b.writeInt16BE(n, at + 1); this.pos = at + 3; }
      else { b[at] = 0xd2; b.writeInt32BE(n, at + 1); this.pos = at + 5; }
      return;
    }
    b[at] = 0xcb;
    b.writeDoubleBE(n, at + 1);
    this.pos = at + 9;
  }

  arrayHeader(n: number): void {
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x90 | n;
    else if (n < 65536) { b[this.pos] = 0xdc; b.writeUInt16BE(n, this.pos + 1); this.pos += 3; }
    else { b[this.pos] = 0xdd; b.writeUInt32BE(n, this.pos + 1); this.pos += 5; }
  }

  /** map16 header: packr reads it back as a plain object */
  objectHeader(n: number): void {
    this.ensure(3);
    this.buf[this.pos] = 0xde;
    this.buf.writeUInt16BE(n, this.pos + 1);
    this.pos += 3;
  }

  byte(x: number): void {
    this.ensure(1);
    this.buf[this.pos++] = x;
  }

  /** Forgets the objects seen: called per entry, so references shared within one entry are detected. */
  entry(): void {
    if (this.#seen.size > 0) this.#seen.clear();
  }

  /** A whole value (a key or a state value); false if it needs packr. */
  value(v: unknown): boolean {
    return this.#any(v, 0);
  }

  #any(v: unknown, depth: number): boolean {
    switch (typeof v) {
      case 'string': this.string(v); return true;
      case 'number': this.number(v); return true;
      case 'boolean': this.byte(v ? 0xc3 : 0xc2); return true;
      case 'undefined': this.ensure(3); this.buf[this.pos] = 0xd4; this.buf[this.pos + 1] = 0; this.buf[this.pos + 2] = 0; this.pos += 3; return true;
      case 'object': break;
      default: return false;
    }
    if (v === null) { this.byte(0xc0); return true; }
    if (depth > 32 || this.#seen.has(v)) return false;
    this.#seen.add(v);
    if (Array.isArray(v)) {
      this.arrayHeader(v.length);
      for (let i = 0; i < v.length; i++) if (!(i in v) || !this.#any(v[i], depth + 1)) return false;
      return true;
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) return false;
    const keys = Object.keys(v);
    if (keys.length >= 65536 || Object.getOwnPropertySymbols(v).length > 0) return false;
    this.objectHeader(keys.length);
    for (const k of keys) {
      this.string(k);
      if (!this.#any((v as Record<string, unknown>)[k], depth + 1)) return false;
    }
    return true;
  }

  /** A `[k, v][]` map value (map state) from its Map of `[k, v]`; false if it needs packr. */
  mapEntries(m: Map<unknown, readonly [unknown, unknown]>): boolean {
    this.arrayHeader(m.size);
    for (const e of m.values()) {
      this.byte(0x92);
      if (!this.value(e[0]) || !this.value(e[1])) return false;
    }
    return true;
  }
}

const KEY_GROUP = Buffer.from('a86b657947726f7570', 'hex'); // "keyGroup"
const STATE = Buffer.from('a57374617465', 'hex'); // "state"
const PUTS = Buffer.from('a470757473', 'hex'); // "puts"
const DELETES = Buffer.from('a764656c65746573', 'hex'); // "deletes"

/** Writes the frame body of `chunk` at the writer's position, as packr would pack the SnapshotChunk; false if a value needs packr. */
function writeChunk(w: FastWriter, chunk: SnapshotChunk | EntryChunk): boolean {
  const deletes = 'puts' in chunk ? chunk.deletes : undefined;
  w.objectHeader(deletes ? 4 : 3);
  w.ensure(KEY_GROUP.length + STATE.length + PUTS.length);
  w.pos += KEY_GROUP.copy(w.buf, w.pos);
  w.number(chunk.keyGroup);
  w.pos += STATE.copy(w.buf, w.pos);
  w.string(chunk.state);
  w.pos += PUTS.copy(w.buf, w.pos);
  if ('puts' in chunk) {
    w.arrayHeader(chunk.puts.length);
    for (const e of chunk.puts) {
      w.entry();
      w.byte(0x92);
      if (!w.value(e[0]) || !w.value(e[1])) return false;
    }
    if (deletes) {
      w.ensure(DELETES.length);
      w.pos += DELETES.copy(w.buf, w.pos);
      w.arrayHeader(deletes.length);
      for (const k of deletes) {
        w.entry();
        if (!w.value(k)) return false;
      }
    }
    return true;
  }
  w.arrayHeader(chunk.entries.length);
  for (const e of chunk.entries) {
    w.entry();
    w.byte(0x92);
    if (!w.value(e.key)) return false;
    if (chunk.mapValues ? !w.mapEntries(e.value as Map<unknown, [unknown, unknown]>) : !w.value(e.value)) return false;
  }
  return true;
}

/** The chunk as packr packs it: `[key, value]` pairs, map values as arrays. */
function asPairs(chunk: SnapshotChunk | EntryChunk): SnapshotChunk {
  if ('puts' in chunk) return chunk;
  const puts: Array<[unknown, unknown]> = chunk.entries.map((e) => [e.key, chunk.mapValues ? [...(e.value as Map<unknown, unknown>).values()] : e.value]);
  return { keyGroup: chunk.keyGroup, state: chunk.state, puts };
}

/** Frames a header and chunks into buffers of about `chunkBytes`, for `TaskStateStorage.write`. */
export async function* encodeSnapshotStream(
  header: SnapshotStreamHeader,
  chunks: AsyncIterable<SnapshotChunk | EntryChunk> | Iterable<SnapshotChunk | EntryChunk>,
  chunkBytes = 1 << 20,
): AsyncGenerator<Uint8Array> {
  let w = new FastWriter(chunkBytes + (chunkBytes >> 2));
  MAGIC.copy(w.buf, 0);
  w.pos = MAGIC.length;
  const packed = (value: unknown) => {
    const body = packr.pack(value);
    w.ensure(4 + body.length);
    w.buf.writeUInt32BE(body.length, w.pos);
    w.pos += 4 + body.copy(w.buf, w.pos + 4);
  };
  packed({ floe: 'keyed-state', ...header });
  let count = 0;
  for await (const chunk of chunks) {
    const start = w.pos;
    w.ensure(4);
    w.pos += 4;
    if (writeChunk(w, chunk)) {
      w.buf.writeUInt32BE(w.pos - start - 4, start);
    } else {
      w.pos = start; // a value only packr encodes faithfully: the whole chunk goes through it
      packed(asPairs(chunk));
    }
    count++;
    if (w.pos >= chunkBytes) {
      // a fresh buffer per piece: storage may keep the one it was given (memory storage, local copies)
      yield w.buf.subarray(0, w.pos);
      w = new FastWriter(chunkBytes + (chunkBytes >> 2));
    }
  }
  packed({ end: true, chunks: count } satisfies Trailer);
  yield w.buf.subarray(0, w.pos);
}

function unpackFrame(bytes: Uint8Array, at: number): { value: any; next: number } {
  if (at + 4 > bytes.length) throw corrupt('truncated frame header');
  const len = Buffer.from(bytes.buffer, bytes.byteOffset + at, 4).readUInt32BE(0);
  const end = at + 4 + len;
  if (end > bytes.length) throw corrupt('truncated frame');
  try {
    return { value: packr.unpack(bytes.subarray(at + 4, end)), next: end };
  } catch (cause) {
    throw corrupt((cause as Error).message, cause);
  }
}

/** Reads a snapshot of either format lazily: the header, then its chunks (format 1 is converted to chunks). */
export function readSnapshotStream(bytes: Uint8Array): { header: SnapshotStreamHeader; chunks: Iterable<SnapshotChunk> } {
  if (!isSnapshotStream(bytes)) {
    const snap = decodeFormat1(bytes);
    return {
      header: { kind: 'full', maxParallelism: snap.maxParallelism, states: snap.states },
      chunks: (function* () {
        for (const g of snap.groups) for (const [state, puts] of Object.entries(g.entries)) yield { keyGroup: g.keyGroup, state, puts };
      })(),
    };
  }
  const first = unpackFrame(bytes, MAGIC.length);
  const h = first.value as (SnapshotStreamHeader & { floe?: string }) | null;
  if (!h || h.floe !== 'keyed-state' || (h.kind !== 'full' && h.kind !== 'delta')) throw corrupt('bad stream header');
  const header: SnapshotStreamHeader = { kind: h.kind, maxParallelism: h.maxParallelism, states: h.states };
  return {
    header,
    chunks: (function* () {
      let at = first.next;
      let count = 0;
      for (;;) {
        const { value, next } = unpackFrame(bytes, at);
        at = next;
        if (value && (value as Trailer).end === true) {
          if ((value as Trailer).chunks !== count) throw corrupt(`trailer counts ${(value as Trailer).chunks} chunks, read ${count}`);
          if (at !== bytes.length) throw corrupt('bytes after the trailer');
          return;
        }
        if (!value || typeof value.keyGroup !== 'number' || typeof value.state !== 'string' || !Array.isArray(value.puts)) throw corrupt('bad chunk');
        count++;
        yield value as SnapshotChunk;
      }
    })(),
  };
}

function decodeFormat1(bytes: Uint8Array): KeyedStateSnapshot {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (cause) {
    throw corrupt((cause as Error).message, cause);
  }
  const snap = value as Partial<KeyedStateSnapshot> | null;
  if (!snap || typeof snap !== 'object' || !Array.isArray(snap.groups)) {
    throw new CheckpointError('FLOE_SNAPSHOT_CORRUPT', 'keyed state snapshot is not a floe snapshot');
  }
  if (snap.format !== 1) {
    throw new CheckpointError('FLOE_SNAPSHOT_UNSUPPORTED_FORMAT', `keyed state snapshot has format ${String(snap.format)}; this floe reads formats 1 and 2`, {
      hint: 'restore it with the floe version that wrote it',
    });
  }
  return snap as KeyedStateSnapshot;
}

/** Decodes a full snapshot of either format into the canonical object (a delta alone is not a snapshot: see readKeyedSnapshot). */
export function decodeSnapshot(bytes: Uint8Array): KeyedStateSnapshot {
  if (!isSnapshotStream(bytes)) return decodeFormat1(bytes);
  const { header, chunks } = readSnapshotStream(bytes);
  if (header.kind !== 'full') throw corrupt('a delta is not a full snapshot: read it through readKeyedSnapshot with its base');
  const groups = new Map<number, Record<string, Array<[unknown, unknown]>>>();
  for (const c of chunks) {
    let entries = groups.get(c.keyGroup);
    if (!entries) groups.set(c.keyGroup, (entries = {}));
    const list = (entries[c.state] ??= []);
    for (const e of c.puts) list.push(e);
  }
  return {
    format: 1,
    maxParallelism: header.maxParallelism,
    states: header.states,
    groups: [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([keyGroup, entries]) => ({ keyGroup, entries })),
  };
}

/** Entries per snapshot chunk: keeps every frame small however many keys a key group holds. */
export const CHUNK_ENTRIES = 1000;

/** `first` followed by the rest of `stream` (a snapshot's first buffer is encoded before storage is asked to write). */
export async function* prepend(first: Uint8Array, stream: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (let r = await stream.next(); !r.done; r = await stream.next()) yield r.value;
}
