// Reads one snapshot file back and checks it against its handle (size and checksum).
import { readFile } from 'node:fs/promises';
import { CheckpointError } from '../errors.ts';
import { checksumOf } from './durable-files.ts';

export async function readStateFile(path: string, size: number, checksum: string): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CheckpointError(
      missing ? 'FLOE_CHECKPOINT_FILE_MISSING' : 'FLOE_CHECKPOINT_READ_FAILED',
      `cannot read state file ${path}: ${(cause as Error).message}`,
      {
        cause,
        hint: missing
          ? 'a state file of the checkpoint was deleted: restore from another checkpoint'
          : 'check that the checkpoint directory is readable',
      },
    );
  }
  if (bytes.length !== size || checksumOf(bytes) !== checksum) {
    throw new CheckpointError(
      'FLOE_CHECKPOINT_FILE_CORRUPT',
      `state file ${path} is damaged (${bytes.length} bytes, expected ${size}, or its checksum differs)`,
      {
        hint: 'restore from another checkpoint (floe checkpoints <dir> lists them)',
      },
    );
  }
  return bytes;
}
