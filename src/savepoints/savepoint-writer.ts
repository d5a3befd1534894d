// Writes a completed savepoint to its own directory: one canonical keyed snapshot file per operator subtask, `_metadata` last.
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { snapshotParts } from '../backends/keyed-snapshot-reader.ts';
import type { StateHandle } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { SavepointError } from '../errors.ts';
import { linkOrCopyDurable, syncDir, writeDurable } from '../storage/durable-files.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import {
  formatVersionFor,
  writeMetadataFile,
  type KeyedFileRef,
  type SavepointMetadata,
  type SavepointOperator,
  type SavepointSubtask,
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
    throw new SavepointError(
      'FLOE_SAVEPOINT_NO_TARGET',
      'no savepoint target directory: none was given and state.savepoints.dir is not set',
      {
        hint: 'pass a directory (floe savepoint <job-id> <dir>) or set state.savepoints.dir',
      },
    );
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

/** A keyed-state file of the savepoint, with what `_metadata` records of it. */
type Written = KeyedFileRef;

/**
 * Puts one subtask's keyed state into the savepoint as `dir/name`. A full snapshot already is the
 * canonical encoding: its file in the savepoint's own `chk-<id>` directory of the checkpoint storage
 * (written, fsync'd and checksummed moments ago, referenced by nothing else) is moved, not copied;
 * bytes kept in memory are written. An incremental one (a full snapshot and deltas, each in the
 * canonical format) is placed part by part, as Flink's native savepoints take an incremental
 * checkpoint's files: never decoded and encoded again, hard-linked where the file system allows
 * (the savepoint stays whole when the checkpoint storage deletes its names), else copied.
 */
async function placeKeyedState(
  handle: StateHandle,
  checkpointId: number,
  dir: string,
  name: string,
  storage: CheckpointStorage,
  read: (h: StateHandle) => Promise<Uint8Array>,
): Promise<Written> {
  if (handle.type === 'incremental') {
    const [base, ...deltas] = snapshotParts(handle) as Array<Exclude<StateHandle, { type: 'incremental' }>>;
    const names = [name, ...deltas.map((_, i) => name.replace(/\.msgpack$/, `.delta-${i + 1}.msgpack`))];
    const files = await Promise.all([base!, ...deltas].map((part, i) => placePart(part, checkpointId, dir, names[i]!, storage, read)));
    return deltas.length ? { ...files[0]!, deltas: files.slice(1) } : files[0]!;
  }
  return placePart(handle, checkpointId, dir, name, storage, read);
}

async function placePart(
  handle: Exclude<StateHandle, { type: 'incremental' }>,
  checkpointId: number,
  dir: string,
  name: string,
  storage: CheckpointStorage,
  read: (h: StateHandle) => Promise<Uint8Array>,
): Promise<Omit<KeyedFileRef, 'deltas'>> {
  const file = join(dir, name);
  if (handle.type === 'bytes') return { path: name, ...(await writeDurable(file, [handle.bytes], { syncDirectory: false })) };
  const jobDir = (storage as { jobDir?: unknown }).jobDir;
  const own = typeof jobDir === 'string' && !isAbsolute(handle.path) && normalize(handle.path).startsWith(`chk-${checkpointId}${sep}`);
  if (own) {
    try {
      await rename(join(jobDir, handle.path), file);
      return { path: name, size: handle.size, checksum: handle.checksum };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // another file system: copied below
    }
  }
  if (typeof jobDir === 'string') {
    // a file of the chain (written once, fsync'd, never changed): hard-linked, or copied by the kernel
    // on another file system; its checksum travels with it and every restore checks it, and a size
    // that differs fails the savepoint now
    await linkOrCopyDurable(isAbsolute(handle.path) ? handle.path : join(jobDir, handle.path), file, handle.size);
    return { path: name, size: handle.size, checksum: handle.checksum };
  }
  // read checks the bytes against the handle's checksum: it is theirs, no need to hash them again
  const bytes = await read(handle);
  return { path: name, ...(await writeDurable(file, [bytes], { syncDirectory: false, checksum: handle.checksum })) };
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
    const placing: Array<Promise<void>> = [];
    let fileIndex = 0;
    for (const [uid, state] of Object.entries(checkpoint.operators)) {
      const op: SavepointOperator = { parallelism: state.parallelism, maxParallelism: checkpoint.maxParallelism, subtasks: [] };
      const index = fileIndex++;
      for (let i = 0; i < state.parallelism; i++) {
        const subtask = state.subtasks[i];
        const entry: SavepointSubtask = { operator: subtask?.operator ?? {}, keyed: null };
        op.subtasks.push(entry);
        if (!subtask?.keyed) continue;
        const storage = source.storage.forSubtask(uid, i);
        // subtasks in parallel: their fsyncs overlap
        placing.push(
          placeKeyedState(subtask.keyed, checkpoint.id, dir, `keyed-${index}-${i}.msgpack`, source.storage, (h) => storage.read(h)).then(
            (w) => void (entry.keyed = w),
          ),
        );
      }
      operators[uid] = op;
    }
    const settled = await Promise.allSettled(placing);
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    await syncDir(dir);
    const metadata: SavepointMetadata = {
      version: formatVersionFor(operators),
      jobId: source.jobId,
      jobName: source.jobName,
      checkpointId: checkpoint.id,
      timestamp: checkpoint.timestamp,
      maxParallelism: checkpoint.maxParallelism,
      operators,
      ...(source.drained ? { drained: true } : {}),
    };
    await writeMetadataFile(dir, metadata);
    return dir;
  } catch (cause) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    if (cause instanceof SavepointError) throw cause;
    throw new SavepointError(
      'FLOE_SAVEPOINT_WRITE_FAILED',
      `savepoint ${checkpoint.id} could not be written to ${dir}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'check the target directory (space, permissions) and try again',
      },
    );
  }
}
