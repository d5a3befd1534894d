// Loads and validates a savepoint directory before anything starts: presence, format, files, checksums.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import type { StateHandle } from '../backends/types.ts';
import type { CompletedCheckpoint, OperatorState } from '../checkpoint/completed-checkpoint.ts';
import { SavepointError } from '../errors.ts';
import { checksumOf } from '../storage/durable-files.ts';
import {
  keyedBytes,
  keyedFiles,
  METADATA_FILE,
  readMetadataFile,
  type KeyedFileRef,
  type SavepointMetadata,
} from './savepoint-metadata.ts';

export interface LoadedSavepoint {
  /** the savepoint directory, absolute */
  dir: string;
  metadata: SavepointMetadata;
}

/** The savepoint directory for `path`: the directory itself, or the directory of a `_metadata` file given directly. */
export function savepointDirOf(path: string): string {
  const abs = resolve(path);
  return basename(abs) === METADATA_FILE && existsSync(abs) && statSync(abs).isFile() ? dirname(abs) : abs;
}

/** Reads `_metadata` only (no state files): enough to tell a savepoint apart and to inspect it. */
export function readSavepointMetadata(path: string): LoadedSavepoint {
  const dir = savepointDirOf(path);
  if (!existsSync(dir)) {
    throw new SavepointError('FLOE_SAVEPOINT_NOT_FOUND', `savepoint not found: ${dir} does not exist`, {
      hint: 'pass the path printed by `floe savepoint` / `floe stop` (a savepoint-<job>-<id> directory)',
    });
  }
  if (!statSync(dir).isDirectory()) {
    throw new SavepointError('FLOE_NOT_A_SAVEPOINT', `${dir} is a file, not a savepoint directory`, {
      hint: 'pass the savepoint-<job>-<id> directory (or its _metadata file)',
    });
  }
  if (!existsSync(join(dir, METADATA_FILE))) {
    throw new SavepointError('FLOE_SAVEPOINT_METADATA_MISSING', `${dir} has no ${METADATA_FILE}: it is not a complete savepoint`, {
      hint: 'the savepoint was never completed (or its _metadata was deleted); use another savepoint',
    });
  }
  return { dir, metadata: readMetadataFile(dir) };
}

/** A state file path from `_metadata`, resolved inside the savepoint directory (never outside it). */
export function stateFilePath(dir: string, ref: Pick<KeyedFileRef, 'path'>): string {
  const rel = normalize(ref.path);
  if (isAbsolute(rel) || rel.startsWith('..')) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_METADATA_CORRUPT',
      `${join(dir, METADATA_FILE)} references ${ref.path}, outside the savepoint directory`,
      {
        hint: 'savepoint paths are relative to its directory; this _metadata was not written by floe',
      },
    );
  }
  return join(dir, rel);
}

/** Checks one state file: present, the recorded size and sha256. Returns its bytes. */
export async function readStateFile(dir: string, ref: Omit<KeyedFileRef, 'deltas'>, uid: string): Promise<Uint8Array> {
  const file = stateFilePath(dir, ref);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_FILE_MISSING',
      `state file ${ref.path} of operator '${uid}' is missing from savepoint ${dir}`,
      {
        cause,
        hint: 'copy or move a savepoint as a whole directory; this one is incomplete',
      },
    );
  }
  if (bytes.length !== ref.size || checksumOf(bytes) !== ref.checksum) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_CHECKSUM_MISMATCH',
      `state file ${ref.path} of operator '${uid}' in ${dir} does not match its checksum (${bytes.length} bytes, expected ${ref.size})`,
      {
        hint: 'the file was changed or damaged after the savepoint was written; restore from another savepoint',
      },
    );
  }
  return bytes;
}

/** Reads `_metadata` and verifies every state file it references (presence, size, sha256), deltas included. */
export async function loadSavepoint(path: string): Promise<LoadedSavepoint> {
  const loaded = readSavepointMetadata(path);
  for (const [uid, op] of Object.entries(loaded.metadata.operators)) {
    for (const subtask of op.subtasks)
      if (subtask.keyed) for (const file of keyedFiles(subtask.keyed)) await readStateFile(loaded.dir, file, uid);
  }
  return loaded;
}

/** The state handle of a keyed-state reference, at absolute paths: a file, or a chain of the full file and its deltas. */
export function keyedHandle(dir: string, ref: KeyedFileRef): StateHandle {
  const file = (f: Omit<KeyedFileRef, 'deltas'>): StateHandle => ({
    type: 'file',
    path: stateFilePath(dir, f),
    size: f.size,
    checksum: f.checksum,
  });
  if (!ref.deltas?.length) return file(ref);
  const deltas = ref.deltas.map(file);
  return { type: 'incremental', base: file(ref), deltas, size: keyedFiles(ref).reduce((n, f) => n + f.size, 0) };
}

/** The savepoint as a completed checkpoint with handles at absolute paths: what a restore and the offline reader read. */
export function savepointCheckpoint({ dir, metadata }: LoadedSavepoint): CompletedCheckpoint {
  const operators: Record<string, OperatorState> = {};
  let stateSize = 0;
  for (const [uid, op] of Object.entries(metadata.operators)) {
    operators[uid] = {
      parallelism: op.parallelism,
      subtasks: op.subtasks.map((s) => {
        stateSize += keyedBytes(s.keyed);
        return { operator: s.operator, keyed: s.keyed ? keyedHandle(dir, s.keyed) : null };
      }),
    };
  }
  return {
    id: metadata.checkpointId,
    kind: 'savepoint',
    timestamp: metadata.timestamp,
    completedAt: metadata.timestamp,
    durationMs: 0,
    stateSize,
    maxParallelism: metadata.maxParallelism,
    operators,
  };
}
