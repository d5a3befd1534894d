// Lets any checkpoint storage read the absolute-path `file` handles of a savepoint restore point (checksum verified).
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { StateHandle, TaskStateStorage } from '../backends/types.ts';
import { SavepointError } from '../errors.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import { sha256 } from './savepoint-metadata.ts';

async function readVerified(handle: Extract<StateHandle, { type: 'file' }>): Promise<Uint8Array> {
  const bytes = await readFile(handle.path).catch((cause: Error) => {
    throw new SavepointError('FLOE_SAVEPOINT_FILE_MISSING', `state file ${handle.path} cannot be read: ${cause.message}`, {
      cause,
      hint: 'a savepoint must stay in place (and whole) while a job restores from it',
    });
  });
  if (sha256(bytes) !== handle.checksum) {
    throw new SavepointError('FLOE_SAVEPOINT_CHECKSUM_MISMATCH', `state file ${handle.path} does not match its checksum`, {
      hint: 'the file changed after the savepoint was written; restore from another savepoint',
    });
  }
  return bytes;
}

/**
 * `storage`, except that absolute `file` handles (savepoint state) are read from their path. A proxy,
 * so whatever else the storage offers (retention, persist hooks) still reaches it, bound to itself.
 */
export function withAbsoluteFileReads<S extends CheckpointStorage>(storage: S): S {
  const forSubtask = (operatorUid: string, subtaskIndex: number): TaskStateStorage => {
    const inner = storage.forSubtask(operatorUid, subtaskIndex);
    return {
      write: (checkpointId, scope, data) => inner.write(checkpointId, scope, data),
      read: (handle) => (handle.type === 'file' && isAbsolute(handle.path) ? readVerified(handle) : inner.read(handle)),
    };
  };
  return new Proxy(storage, {
    get(target, prop) {
      if (prop === 'forSubtask') return forSubtask;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
