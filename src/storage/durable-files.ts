// Durable file writes for checkpoint storage: fsync'd files, atomic replace, checksums, directory sync.
import { createHash } from 'node:crypto';
import { constants, copyFile, link, open, rename, rm, stat } from 'node:fs/promises';
import { CheckpointError } from '../errors.ts';
import { dirname } from 'node:path';

/** The checksum every checkpoint file carries (sha256: fast enough in OpenSSL, and a flipped byte never passes). */
export function checksumOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function newChecksum(): { update(chunk: Uint8Array): void; digest(): string } {
  const hash = createHash('sha256');
  return { update: (c) => void hash.update(c), digest: () => hash.digest('hex') };
}

/** fsync a directory, so a file created or renamed in it survives a crash (a no-op where directories cannot be opened). */
export async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // some file systems refuse fsync on directories; the data itself is synced
  } finally {
    await handle.close();
  }
}

/**
 * Writes chunks to a new file (fails if it exists) and fsyncs it, and its directory unless the
 * caller syncs that once for many files; returns size and checksum (`checksum` when the caller
 * has just verified the bytes against it: not computed again).
 */
export async function writeDurable(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: { syncDirectory?: boolean; checksum?: string } = {},
): Promise<{ size: number; checksum: string }> {
  const handle = await open(path, 'wx');
  const known = options.checksum;
  const hash = known === undefined ? newChecksum() : { update() {}, digest: () => known };
  let size = 0;
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      let written = 0;
      while (written < chunk.length) written += (await handle.write(chunk, written, chunk.length - written)).bytesWritten;
    }
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw error;
  }
  await handle.close();
  if (options.syncDirectory !== false) await syncDir(dirname(path));
  return { size, checksum: hash.digest() };
}

const sizeChanged = (path: string, actual: number, recorded: number) =>
  new CheckpointError('FLOE_CHECKPOINT_FILE_CORRUPT', `state file ${path} has ${actual} bytes, its handle says ${recorded}`, {
    hint: 'a checkpoint file of this job changed after it was written (check the disk and what else writes there)',
  });

/**
 * Copies `from` to the new file `to` (the kernel copies where it can) and fsyncs it; fails, leaving
 * nothing, when the source is not `size` bytes long (a truncated or replaced state file).
 */
export async function copyDurable(from: string, to: string, size: number): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_EXCL);
  const handle = await open(to, 'r+');
  try {
    const { size: copied } = await handle.stat();
    if (copied !== size) throw sizeChanged(from, copied, size);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(to, { force: true }).catch(() => {});
    throw error;
  }
  await handle.close();
}

/** Errors of `link` that mean "not here" (another file system, or one without hard links): copy instead. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/**
 * Places the immutable, already durable file `from` at the new path `to` as a hard link where the
 * file system allows (as RocksDB's checkpoints link SST files: nothing is copied, and deleting
 * `from` later leaves `to` whole), else as a durable copy; fails, leaving nothing, when the file is
 * not `size` bytes long. Only for files nothing writes to again (checkpoint state files). The
 * caller fsyncs the directory of `to`.
 */
export async function linkOrCopyDurable(from: string, to: string, size: number): Promise<'linked' | 'copied'> {
  try {
    await link(from, to);
  } catch (error) {
    if (!NO_LINK.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await copyDurable(from, to, size);
    return 'copied';
  }
  const { size: linked } = await stat(to);
  if (linked !== size) {
    await rm(to, { force: true }).catch(() => {});
    throw sizeChanged(from, linked, size);
  }
  return 'linked';
}

/** Replaces `path` atomically: write a temporary file, fsync, rename over, fsync the directory. */
export async function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await writeDurable(tmp, [bytes]);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {});
    throw error;
  }
  await syncDir(dirname(path));
}
