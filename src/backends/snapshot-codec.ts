// Keyed-state snapshots: the streamed full/delta form (stream versions 2 and 3) written and read, the canonical object (format 1) read.
import { CheckpointError } from '../errors.ts';
import { prepare, valuePackr } from '../checkpoint/state-value-codec.ts';
import type { KeyedStateSnapshot, StateKind } from './types.ts';
import { ValueWriter } from '../checkpoint/value-writer.ts';

/** Decodes the state value format (see state-value-codec.ts): every frame and format 1 snapshots. */
export const packr = valuePackr;

/**
 * Format 2 is a stream of frames (values in the state value format, see state-value-codec.ts) so that a snapshot of millions of keys is written and read in
 * pieces, never as one object: `FLKS` + version byte, then frames `[u32 length][msgpack]` — a
 * header, chunks of one state in one key group, and a trailer that counts them (a truncated file
 * fails to decode instead of restoring half the state). A `delta` stream holds the changes since
 * the previous snapshot of an incremental chain: puts and deletes (tombstones).
 */
const MAGIC = Buffer.from([0x46, 0x4c, 0x4b, 0x53, 3]);
/**
 * Version 2 wrote a Map value as a MessagePack map, read back as a plain object: its bytes still
 * decode (to what version 2 always restored, objects where Maps were — the Map-ness is not in
 * the bytes), every other value as before. Version 3 tags Maps (and keeps -0 off the fast path too).
 */
const READABLE_VERSIONS = [2, 3];
export const SNAPSHOT_STREAM_VERSION = 3;

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

/** Node's Buffer writes Latin-1 without `write`'s encoding lookup (a method of every Buffer, not in its typings) */
type LatinWriter = Buffer & { latin1Write(text: string, offset: number): number };

/** Whether a value whose encoding starts with `byte` is a scalar (no array, map or extension, so no reference inside). */
export function isPackedScalar(byte: number): boolean {
  return (
    byte <= 0x7f ||
    byte >= 0xe0 ||
    (byte >= 0xa0 && byte <= 0xc6 && byte !== 0xc1) ||
    (byte >= 0xca && byte <= 0xd3) ||
    (byte >= 0xd9 && byte <= 0xdb)
  );
}

interface Trailer {
  end: true;
  chunks: number;
}

const corrupt = (why: string, cause?: unknown) =>
  new CheckpointError('FLOE_SNAPSHOT_CORRUPT', `keyed state snapshot cannot be decoded (${why})`, {
    cause,
    hint: 'restore from an earlier checkpoint or savepoint',
  });

export const isSnapshotStream = (bytes: Uint8Array): boolean =>
  bytes.length >= MAGIC.length && Buffer.compare(bytes.subarray(0, MAGIC.length - 1), MAGIC.subarray(0, MAGIC.length - 1)) === 0;

function checkVersion(bytes: Uint8Array): void {
  const version = bytes[MAGIC.length - 1]!;
  if (!READABLE_VERSIONS.includes(version)) {
    throw new CheckpointError(
      'FLOE_SNAPSHOT_UNSUPPORTED_FORMAT',
      `keyed state snapshot stream has version ${version}; this floe reads versions ${READABLE_VERSIONS.join(' and ')}`,
      {
        hint: 'restore it with the floe version that wrote it',
      },
    );
  }
}

/**
 * A chunk given as the backend holds its entries (heap backends): keys and values in two arrays, map
 * values as Maps of `[k, v]`. Encoded exactly as the `SnapshotChunk` with `puts` of `[key, value]`
 * (map values as `[k, v][]`) would be, without building those pair arrays first.
 */
export interface EntryChunk {
  keyGroup: number;
  state: string;
  keys: readonly unknown[];
  /** values[i] is the value of keys[i] */
  values: readonly unknown[];
  /** values are Maps whose values are `[k, v]` (map state): encoded as arrays of them */
  mapValues: boolean;
}

/**
 * A chunk as a backend stores it (the level backend): keys and values as stored text, encoded as the
 * `SnapshotChunk` of their decoded pairs would be, without decoding a string key or a scalar value
 * (no key, pair or value object per entry).
 */
export interface StoredChunk {
  keyGroup: number;
  state: string;
  /** stored keys: `keys[i].slice(keyOffset)` is the key's tag, `s` + the string for a string key */
  keys: string[];
  keyOffset: number;
  /** stored values: the state value format, one Latin-1 character per byte */
  values: string[];
  /** stored keys whose value was removed (delta streams only) */
  deletes?: string[];
  /** a tag back to its key, stored text back to its value (keys that are not strings, values that are not scalars) */
  decodeKey(tag: string): unknown;
  decodeValue(text: string): unknown;
}

/** `s`: the tag of a string key */
const STRING_TAG = 0x73;

const KEY_GROUP = Buffer.from('a86b657947726f7570', 'hex'); // "keyGroup"
const STATE = Buffer.from('a57374617465', 'hex'); // "state"
const PUTS = Buffer.from('a470757473', 'hex'); // "puts"
const DELETES = Buffer.from('a764656c65746573', 'hex'); // "deletes"

/** Bytes as they are, with room made for them first (Buffer.copy cuts short silently where there is none). */
function raw(w: ValueWriter, bytes: Buffer): void {
  w.ensure(bytes.length);
  w.pos += bytes.copy(w.buf, w.pos);
}

/** Writes the frame body of `chunk` at the writer's position, as packr would pack the SnapshotChunk; false if a value needs the slow path. */
function writeChunk(w: ValueWriter, chunk: AnyChunk): boolean {
  const deletes = 'mapValues' in chunk ? undefined : chunk.deletes;
  w.objectHeader(deletes ? 4 : 3);
  raw(w, KEY_GROUP);
  w.number(chunk.keyGroup);
  raw(w, STATE);
  w.string(chunk.state);
  raw(w, PUTS);
  if ('keyOffset' in chunk) return writeStored(w, chunk);
  if ('puts' in chunk) {
    const { puts } = chunk;
    w.arrayHeader(puts.length);
    for (const e of puts) if (!w.pair(e[0], e[1])) return false;
    if (deletes) {
      raw(w, DELETES);
      w.arrayHeader(deletes.length);
      for (const k of deletes) {
        w.entry();
        if (!w.value(k)) return false;
      }
    }
    return true;
  }
  const { keys, values } = chunk;
  w.arrayHeader(keys.length);
  if (!chunk.mapValues) {
    for (let i = 0; i < keys.length; i++) if (!w.pair(keys[i], values[i])) return false;
    return true;
  }
  for (let i = 0; i < keys.length; i++) {
    w.entry();
    w.byte(0x92);
    if (!w.value(keys[i]) || !w.mapEntries(values[i] as Map<unknown, [unknown, unknown]>)) return false;
  }
  return true;
}

/** A stored key: a string key from its tag without slicing it, any other decoded; false if it needs the slow path. */
function writeStoredKey(w: ValueWriter, chunk: StoredChunk, k: string): boolean {
  if (k.charCodeAt(chunk.keyOffset) !== STRING_TAG) return w.value(chunk.decodeKey(k.slice(chunk.keyOffset)));
  w.stringFrom(k, chunk.keyOffset + 1);
  return true;
}

function writeStored(w: ValueWriter, chunk: StoredChunk): boolean {
  const { keys, values, deletes } = chunk;
  w.arrayHeader(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const v = values[i]!;
    w.entry();
    w.byte(0x92);
    if (!writeStoredKey(w, chunk, keys[i]!)) return false;
    if (isPackedScalar(v.charCodeAt(0))) {
      // a scalar goes in as it is stored: the same bytes
      w.ensure(v.length);
      w.pos += (w.buf as LatinWriter).latin1Write(v, w.pos);
    } else if (!w.value(chunk.decodeValue(v))) return false;
  }
  if (deletes) {
    raw(w, DELETES);
    w.arrayHeader(deletes.length);
    for (const k of deletes) {
      w.entry();
      if (!writeStoredKey(w, chunk, k)) return false;
    }
  }
  return true;
}

/** Every chunk form the encoder takes. */
export type AnyChunk = SnapshotChunk | EntryChunk | StoredChunk;

/**
 * The chunk prepared for msgpackr, entry by entry (each its own reference scope, as the fast
 * writer's): `[key, value]` pairs, map values as arrays; a value that cannot be encoded throws
 * a StateValueError naming the state.
 */
function asPairs(chunk: AnyChunk): SnapshotChunk {
  const what = `state "${chunk.state}"`;
  const entry = (k: unknown, v: unknown): [unknown, unknown] => [
    prepare(k, what, 'key', new Map(), new Set()),
    prepare(v, what, 'value', new Map(), new Set()),
  ];
  if ('keyOffset' in chunk) {
    const key = (k: string) => chunk.decodeKey(k.slice(chunk.keyOffset));
    // decoded, then prepared as any chunk of pairs
    const puts = chunk.keys.map((k, i): [unknown, unknown] => [key(k), chunk.decodeValue(chunk.values[i]!)]);
    return asPairs({ keyGroup: chunk.keyGroup, state: chunk.state, puts, ...(chunk.deletes ? { deletes: chunk.deletes.map(key) } : {}) });
  }
  if ('puts' in chunk) {
    const out: SnapshotChunk = { keyGroup: chunk.keyGroup, state: chunk.state, puts: chunk.puts.map(([k, v]) => entry(k, v)) };
    if (chunk.deletes) out.deletes = chunk.deletes.map((k) => prepare(k, what, 'key', new Map(), new Set()));
    return out;
  }
  const puts = chunk.keys.map((k, i) =>
    entry(k, chunk.mapValues ? [...(chunk.values[i] as Map<unknown, unknown>).values()] : chunk.values[i]),
  );
  return { keyGroup: chunk.keyGroup, state: chunk.state, puts };
}

/** Frames a header and chunks into buffers of about `chunkBytes`, for `TaskStateStorage.write`. */
export async function* encodeSnapshotStream(
  header: SnapshotStreamHeader,
  chunks: AsyncIterable<AnyChunk> | Iterable<AnyChunk>,
  chunkBytes = 1 << 20,
): AsyncGenerator<Uint8Array> {
  let w = new ValueWriter(chunkBytes + (chunkBytes >> 2));
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
      w.pos = start; // a value only the slow path encodes faithfully (or names as not encodable): the whole chunk goes through it
      packed(asPairs(chunk));
    }
    count++;
    if (w.pos >= chunkBytes) {
      // a fresh buffer per piece: storage may keep the one it was given (memory storage, local copies)
      yield w.buf.subarray(0, w.pos);
      w = new ValueWriter(chunkBytes + (chunkBytes >> 2));
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
  checkVersion(bytes);
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
        if (!value || typeof value.keyGroup !== 'number' || typeof value.state !== 'string' || !Array.isArray(value.puts))
          throw corrupt('bad chunk');
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
    throw new CheckpointError(
      'FLOE_SNAPSHOT_UNSUPPORTED_FORMAT',
      `keyed state snapshot has format ${String(snap.format)}; this floe reads formats 1 and 2`,
      {
        hint: 'restore it with the floe version that wrote it',
      },
    );
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
