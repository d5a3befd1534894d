// Writes a completed savepoint to its own directory: one canonical keyed snapshot file per operator subtask, `_metadata` last.
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, open, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readKeyedSnapshot } from '../backends/keyed-snapshot-reader.ts';
import { encodeSnapshot } from '../backends/snapshot-codec.ts';
import type { StateHandle } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../coordinator/types.ts';
import { SavepointError } from '../errors.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import {
  SAVEPOINT_FORMAT_VERSION, sha256, syncDir, writeMetadataFile,
  type SavepointMetadata, type SavepointOperator,
} from './savepoint-metadata.ts';

export interface SavepointSource {
  jobId: string;
  jobName: string;
  /** the storage the savepoint's checkpoint wrote to: its handles are read back through it */
  storage: CheckpointStorage;
  /** stop --drain took it: recorded in `_metadata` so a restore can warn */
  drained?: boolean;
}

/** `savepoint-<first 6 of job id>-<12 hex>`, as Flink names savepoint directories. */
export function savepointDirName(jobId: string): string {
  return `savepoint-${jobId.slice(0, 6)}-${randomBytes(6).toString('hex')}`;
}

/**
 * Checks, before any barrier is sent, that savepoints can be written under `root` (created if missing):
 * a savepoint that would fail at its last step should not disturb the job at all.
 */
export async function checkTargetDirectory(root: string | undefined): Promise<string> {
  if (!root) {
    throw new SavepointError('FLOE_SAVEPOINT_NO_TARGET', 'no savepoint target directory: none was given and state.savepoints.dir is not set', {
      hint: 'pass a directory (floe savepoint <job-id> <dir>) or set state.savepoints.dir',
    });
  }
  const dir = resolve(root);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (cause) {
    throw new SavepointError('FLOE_SAVEPOINT_TARGET_NOT_WRITABLE', `cannot write savepoints to ${dir}: ${(cause as Error).message}`, {
      cause,
      hint: 'pick a target directory this process may create and write',
    });
  }
  return dir;
}

/** Full handles already hold the canonical encoding: copy the bytes. Incremental ones are materialised first. */
async function canonicalBytes(handle: StateHandle, read: (h: StateHandle) => Promise<Uint8Array>): Promise<Uint8Array> {
  if (handle.type === 'incremental') return encodeSnapshot(await readKeyedSnapshot(handle, { read }));
  return read(handle);
}

async function writeDurably(file: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `checkpoint` (a completed savepoint) as `<root>/savepoint-.../`. The savepoint depends on
 * nothing else afterwards (not on the checkpoint storage). On any failure the directory is removed,
 * so nothing that looks complete is left behind; returns the savepoint's absolute path.
 */
export async function writeSavepoint(checkpoint: CompletedCheckpoint, root: string, source: SavepointSource): Promise<string> {
  const dir = join(await checkTargetDirectory(root), savepointDirName(source.jobId));
  await mkdir(dir);
  try {
    const operators: Record<string, SavepointOperator> = {};
    let fileIndex = 0;
    for (const [uid, state] of Object.entries(checkpoint.operators)) {
      const op: SavepointOperator = { parallelism: state.parallelism, maxParallelism: checkpoint.maxParallelism, subtasks: [] };
      for (let i = 0; i < state.parallelism; i++) {
        const subtask = state.subtasks[i];
        let keyed = null;
        if (subtask?.keyed) {
          const storage = source.storage.forSubtask(uid, i);
          const bytes = await canonicalBytes(subtask.keyed, (h) => storage.read(h));
          const path = `keyed-${fileIndex++}-${i}.msgpack`;
          await writeDurably(join(dir, path), bytes);
          keyed = { path, size: bytes.length, checksum: sha256(bytes) };
        }
        op.subtasks.push({ operator: subtask?.operator ?? {}, keyed });
      }
      operators[uid] = op;
    }
    syncDir(dir);
    const metadata: SavepointMetadata = {
      version: SAVEPOINT_FORMAT_VERSION,
      jobId: source.jobId,
      jobName: source.jobName,
      checkpointId: checkpoint.id,
      timestamp: checkpoint.timestamp,
      maxParallelism: checkpoint.maxParallelism,
      operators,
      ...(source.drained ? { drained: true } : {}),
    };
    writeMetadataFile(dir, metadata);
    return dir;
  } catch (cause) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    if (cause instanceof SavepointError) throw cause;
    throw new SavepointError('FLOE_SAVEPOINT_WRITE_FAILED', `savepoint ${checkpoint.id} could not be written to ${dir}: ${(cause as Error).message}`, {
      cause,
      hint: 'check the target directory (space, permissions) and try again; the job keeps running',
    });
  }
}
