// Encodes the canonical keyed-state snapshot (every backend reads and writes it) with msgpackr.
import { Packr } from 'msgpackr';
import { CheckpointError } from '../errors.ts';
import type { KeyedStateSnapshot } from './types.ts';

// structuredClone-style round trips (Map, Set, Date, undefined) without record extensions, so the bytes stay plain MessagePack + ext
const packr = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });

export function encodeSnapshot(snapshot: KeyedStateSnapshot): Uint8Array {
  return packr.pack(snapshot);
}

export function decodeSnapshot(bytes: Uint8Array): KeyedStateSnapshot {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (cause) {
    throw new CheckpointError('FLOE_SNAPSHOT_CORRUPT', `keyed state snapshot cannot be decoded (${(cause as Error).message})`, { cause });
  }
  const snap = value as Partial<KeyedStateSnapshot> | null;
  if (!snap || typeof snap !== 'object' || !Array.isArray(snap.groups)) {
    throw new CheckpointError('FLOE_SNAPSHOT_CORRUPT', 'keyed state snapshot is not a floe snapshot');
  }
  if (snap.format !== 1) {
    throw new CheckpointError('FLOE_SNAPSHOT_UNSUPPORTED_FORMAT', `keyed state snapshot has format ${String(snap.format)}; this floe reads format 1`, {
      hint: 'restore it with the floe version that wrote it',
    });
  }
  return snap as KeyedStateSnapshot;
}
