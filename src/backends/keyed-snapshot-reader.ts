// Reads any keyed-state handle back as one canonical full snapshot (savepoints, offline inspection, backend switches).
import { CheckpointError } from '../errors.ts';
import { canonicalKey } from './key-groups.ts';
import { readSnapshotStream, type SnapshotStreamHeader } from './snapshot-codec.ts';
import type { KeyedStateSnapshot, StateHandle, StateKind, TaskStateStorage } from './types.ts';

/** The lookup form of a key: primitives as they are, objects (tuples) by canonical string, as the heap backend keys its maps. */
export const lookupKey = (key: unknown): unknown => (key !== null && typeof key === 'object' ? canonicalKey(key) : key);

/**
 * The parts of a handle in the order they apply: a full snapshot, then deltas. A `bytes`/`file`
 * handle is one part; an `incremental` one is its base's parts followed by its deltas.
 */
export function snapshotParts(handle: StateHandle): StateHandle[] {
  if (handle.type !== 'incremental') return [handle];
  return [...snapshotParts(handle.base), ...handle.deltas];
}

/**
 * Reads the parts of one handle in order, checking that the first is a full snapshot and the rest
 * are deltas with the same max parallelism, and calls `apply` for each header and its chunks.
 */
export async function forEachSnapshotPart(
  handle: StateHandle,
  storage: Pick<TaskStateStorage, 'read'>,
  apply: (header: SnapshotStreamHeader, chunks: Iterable<import('./snapshot-codec.ts').SnapshotChunk>) => void | Promise<void>,
): Promise<void> {
  const parts = snapshotParts(handle);
  for (let i = 0; i < parts.length; i++) {
    const { header, chunks } = readSnapshotStream(await storage.read(parts[i]!));
    if ((i === 0) !== (header.kind === 'full')) {
      throw new CheckpointError(
        'FLOE_SNAPSHOT_CORRUPT',
        `part ${i + 1} of an incremental keyed snapshot is a ${header.kind} snapshot; expected ${i === 0 ? 'a full base' : 'a delta'}`,
        {
          hint: 'restore from an earlier checkpoint or savepoint',
        },
      );
    }
    await apply(header, chunks);
  }
}

/** Materialises `handle`: a full snapshot as is; an incremental one with its deltas applied in order. */
export async function readKeyedSnapshot(handle: StateHandle, storage: Pick<TaskStateStorage, 'read'>): Promise<KeyedStateSnapshot> {
  let maxParallelism = 0;
  const states: Record<string, StateKind> = {};
  // key group -> state -> lookup key -> [key, value]
  const groups = new Map<number, Map<string, Map<unknown, [unknown, unknown]>>>();
  await forEachSnapshotPart(handle, storage, (header, chunks) => {
    if (maxParallelism && header.maxParallelism !== maxParallelism) {
      throw new CheckpointError(
        'FLOE_SNAPSHOT_CORRUPT',
        `a delta has max parallelism ${header.maxParallelism}, its base ${maxParallelism}`,
      );
    }
    maxParallelism = header.maxParallelism;
    Object.assign(states, header.states);
    for (const c of chunks) {
      let byState = groups.get(c.keyGroup);
      if (!byState) groups.set(c.keyGroup, (byState = new Map()));
      let entries = byState.get(c.state);
      if (!entries) byState.set(c.state, (entries = new Map()));
      for (const k of c.deletes ?? []) entries.delete(lookupKey(k));
      for (const e of c.puts) entries.set(lookupKey(e[0]), e);
    }
  });
  const snapshot: KeyedStateSnapshot = { format: 1, maxParallelism, states, groups: [] };
  for (const keyGroup of [...groups.keys()].sort((a, b) => a - b)) {
    const entries: Record<string, Array<[unknown, unknown]>> = {};
    let any = false;
    for (const [state, map] of groups.get(keyGroup)!) {
      if (map.size === 0) continue;
      entries[state] = [...map.values()];
      any = true;
    }
    if (any) snapshot.groups.push({ keyGroup, entries });
  }
  return snapshot;
}
