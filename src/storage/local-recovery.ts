// Task-local copies of snapshot files (Flink's local recovery): a restart in the same process reads them first.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { checksumOf } from './durable-files.ts';

/**
 * Mirrors the snapshot files a process wrote under `root`, by their path relative to the job's
 * checkpoint directory. Copies are best effort (not fsync'd, write errors ignored): the checkpoint
 * storage stays the truth, and a copy is used only when its checksum matches the handle's.
 */
export class LocalRecovery {
  /** the job ended: snapshots still finishing must not leave copies behind */
  #closed = false;

  constructor(readonly root: string) {}

  async save(relativePath: string, chunks: Uint8Array[]): Promise<void> {
    if (this.#closed) return;
    const path = join(this.root, relativePath);
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, chunks);
      if (this.#closed) await rm(this.root, { recursive: true, force: true });
    } catch {
      await rm(path, { force: true }).catch(() => {});
    }
  }

  /** The local copy's bytes if it is there and matches `checksum`, else null. */
  async load(relativePath: string, checksum: string): Promise<Uint8Array | null> {
    try {
      const bytes = await readFile(join(this.root, relativePath));
      return checksumOf(bytes) === checksum ? bytes : null;
    } catch {
      return null;
    }
  }

  /** Deletes every local copy not in `keep` (paths relative to the job's checkpoint directory). */
  async retainOnly(keep: ReadonlySet<string>): Promise<void> {
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) await walk(path);
        else if (!keep.has(relative(this.root, path))) await rm(path, { force: true });
      }
    };
    await walk(this.root);
  }

  async clear(): Promise<void> {
    this.#closed = true;
    await rm(this.root, { recursive: true, force: true });
  }
}
