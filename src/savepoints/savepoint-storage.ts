// A job's checkpoint storage as savepoints need it: savepoint state read from its own directory, and a savepoint written as the persist step of its checkpoint.
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { StateHandle, TaskStateStorage } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { SavepointError } from '../errors.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import { checksumOf } from '../storage/durable-files.ts';
import { writeSavepoint } from './savepoint-writer.ts';

/** A savepoint's state file read from its absolute path and checked against its handle's checksum. */
export async function readVerified(handle: StateHandle): Promise<Uint8Array> {
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

/** What became of the savepoints persisted through a storage: its path, or why it could not be written. */
export interface SavepointOutcomes {
  /** checkpoint id -> savepoint directory */
  written: Map<number, string>;
  /** target directory -> the error of the last savepoint that failed to be written there */
  failed: Map<string, unknown>;
}

const OUTCOMES = Symbol('floe.savepoint-outcomes');

/** The outcomes of a storage made by `withSavepoints` (undefined for any other storage). */
export function savepointOutcomes(storage: CheckpointStorage): SavepointOutcomes | undefined {
  return (storage as { [OUTCOMES]?: SavepointOutcomes })[OUTCOMES];
}

/**
 * `storage`, except that (1) in a job restored from a savepoint, absolute `file` handles (the
 * savepoint's state) are read from their path, checksum verified, and (2) persisting a savepoint writes its directory
 * (state files, then `_metadata`) instead of retaining it as a checkpoint. As in Flink, the savepoint
 * is complete only once that is done: the coordinator notifies tasks (sinks commit, a stopping job
 * ends) after it, so the job cannot end, nor its checkpoint files go, while the savepoint is written,
 * and a savepoint that cannot be written aborts like any checkpoint that cannot be made durable.
 * A proxy, so whatever else the storage offers still reaches it, bound to itself.
 */
export function withSavepoints<S extends CheckpointStorage>(storage: S, job: { jobId: string; jobName: string; restoresSavepoint: boolean }): S {
  const outcomes: SavepointOutcomes = { written: new Map(), failed: new Map() };
  const forSubtask = (operatorUid: string, subtaskIndex: number): TaskStateStorage => {
    const inner = storage.forSubtask(operatorUid, subtaskIndex);
    return {
      write: (checkpointId, scope, data) => inner.write(checkpointId, scope, data),
      // only a job started from a savepoint has its files at absolute paths; the file storage's own absolute
      // handles (a checkpoint loaded from disk) stay with it, its codes and its fallback
      read: (handle) => (job.restoresSavepoint && handle.type === 'file' && isAbsolute(handle.path) ? readVerified(handle) : inner.read(handle)),
    };
  };
  const persistCheckpoint = storage.persist.bind(storage);
  const persist = async (checkpoint: CompletedCheckpoint): Promise<void> => {
    if (checkpoint.kind !== 'savepoint' || !checkpoint.savepoint) return persistCheckpoint(checkpoint);
    const { targetDirectory, drained } = checkpoint.savepoint;
    try {
      const path = await writeSavepoint(checkpoint, targetDirectory, { jobId: job.jobId, jobName: job.jobName, storage, drained });
      outcomes.written.set(checkpoint.id, path);
    } catch (error) {
      outcomes.failed.set(targetDirectory, error);
      throw error;
    }
  };
  // properties assigned to the wrapper (a spec wrapping persist) take precedence and leave the storage as it is
  const assigned = new Map<string | symbol, unknown>();
  return new Proxy(storage, {
    set(_target, prop, value) {
      assigned.set(prop, value);
      return true;
    },
    get(target, prop) {
      if (assigned.has(prop)) return assigned.get(prop);
      if (prop === 'forSubtask') return forSubtask;
      if (prop === 'persist') return persist;
      if (prop === OUTCOMES) return outcomes;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
