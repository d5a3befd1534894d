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

/** Frames a header and chunks into buffers of about `chunkBytes`, for `TaskStateStorage.write`. */
export async function* encodeSnapshotStream(
  header: SnapshotStreamHeader,
  chunks: AsyncIterable<SnapshotChunk> | Iterable<SnapshotChunk>,
  chunkBytes = 1 << 20,
): AsyncGenerator<Uint8Array> {
  let parts: Buffer[] = [MAGIC];
  let size = MAGIC.length;
  const frame = (value: unknown) => {
    const body = packr.pack(value);
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(body.length);
    parts.push(len, body);
    size += 4 + body.length;
  };
  frame({ floe: 'keyed-state', ...header });
  let count = 0;
  for await (const chunk of chunks) {
    frame(chunk);
    count++;
    if (size >= chunkBytes) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  frame({ end: true, chunks: count } satisfies Trailer);
  yield Buffer.concat(parts, size);
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
