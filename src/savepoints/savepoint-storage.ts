// Savepoints and a job's checkpoint storage: savepoint state read from its own directory, and a savepoint written as the persist step of its checkpoint.
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { StateHandle, TaskStateStorage } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { loadNativeDecoding } from '../checkpoint/state-value-codec.ts';
import { SavepointError } from '../errors.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import { checksumOf } from '../storage/durable-files.ts';

/** A savepoint's state file read from its absolute path and checked against its handle's checksum. */
export async function readVerified(handle: StateHandle): Promise<Uint8Array> {
  await loadNativeDecoding(); // what is read is decoded next
  if (handle.type === 'bytes') return handle.bytes;
  if (handle.type !== 'file') throw new TypeError('readVerified reads one part of a snapshot: a file or bytes handle');
  const bytes = await readFile(handle.path).catch((cause: Error) => {
    throw new SavepointError('FLOE_SAVEPOINT_FILE_MISSING', `state file ${handle.path} cannot be read: ${cause.message}`, {
      cause,
      hint: 'a savepoint must stay in place (and whole) while a job restores from it',
    });
  });
  if (checksumOf(bytes) !== handle.checksum) {
    throw new SavepointError('FLOE_SAVEPOINT_CHECKSUM_MISMATCH', `state file ${handle.path} does not match its checksum`, {
      hint: 'the file changed after the savepoint was written; restore from another savepoint',
    });
  }
  return bytes;
}

/**
 * A subtask's state storage in a job restored from a savepoint: absolute `file` handles (the
 * savepoint's state) are read from their path, checksum verified. Only such a job has its files at
 * absolute paths; the file storage's own absolute handles (a checkpoint loaded from disk) stay with
 * it, its codes and its fallback.
 */
export function readingSavepointFiles(inner: TaskStateStorage): TaskStateStorage {
  return {
    write: (checkpointId, scope, data) => inner.write(checkpointId, scope, data),
    read: (handle) => (handle.type === 'file' && isAbsolute(handle.path) ? readVerified(handle) : inner.read(handle)),
  };
}

/**
 * The persist step of a job's checkpoints. A savepoint writes its own directory (state files, then
 * `_metadata`) and resolves with its path, the completed savepoint's external pointer; any other
 * checkpoint is made durable and retained by `storage`. As in Flink, a savepoint is complete only
 * once it is written: the coordinator notifies tasks (sinks commit, a stopping job ends) after it, so
 * the job cannot end, nor its checkpoint files go, while the savepoint is written, and a savepoint
 * that cannot be written aborts like any checkpoint that cannot be made durable, its cause kept.
 */
export async function persistCheckpoint(
  storage: CheckpointStorage,
  checkpoint: CompletedCheckpoint,
  job: { jobId: string; jobName: string },
): Promise<string | undefined> {
  if (checkpoint.kind !== 'savepoint' || !checkpoint.savepoint) {
    await storage.persist(checkpoint);
    return undefined;
  }
  const { targetDirectory, drained } = checkpoint.savepoint;
  // loaded for a job's first savepoint: a job that takes none starts without it
  const { writeSavepoint } = await import('./savepoint-writer.ts');
  return writeSavepoint(checkpoint, targetDirectory, { jobId: job.jobId, jobName: job.jobName, storage, drained });
}
