// Task-local copies of snapshot files (Flink's local recovery): a restart in the same process reads them first.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { dirNameOf, JobWorkingDir, OWNER_FILE, sweepStaleJobDirs } from '../backends/local-working-dir.ts';
import { checksumOf } from './durable-files.ts';

/**
 * Mirrors the snapshot files a process wrote under `root`, by their path relative to the job's
 * checkpoint directory. Copies are best effort (not fsync'd, write errors ignored): the checkpoint
 * storage stays the truth, and a copy is used only when its checksum matches the handle's.
 */
export class LocalRecovery {
  /** the job ended: snapshots still finishing must not leave copies behind */
  #closed = false;
  /** the job's directory under `parent`, claimed by the first copy; a failed claim is tried again by the next */
  #claim: Promise<JobWorkingDir> | null = null;
  /** copies of runs killed before their end, removed once their process is gone */
  readonly #swept: Promise<unknown>;
  readonly root: string;

  constructor(
    readonly parent: string,
    readonly jobId: string,
  ) {
    this.root = join(parent, dirNameOf(jobId));
    this.#swept = sweepStaleJobDirs(parent).catch(() => {});
  }

  async save(relativePath: string, chunks: Uint8Array[]): Promise<void> {
    if (this.#closed) return;
    const path = join(this.root, relativePath);
    try {
      this.#claim ??= JobWorkingDir.claim(this.parent, this.jobId).catch((error: unknown) => {
        this.#claim = null;
        throw error;
      });
      await this.#claim;
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
        else if (!keep.has(relative(this.root, path)) && path !== join(this.root, OWNER_FILE)) await rm(path, { force: true });
      }
    };
    await walk(this.root);
  }

  async clear(): Promise<void> {
    this.#closed = true;
    await this.#swept;
    await this.#claim?.catch(() => {}); // a claim under way would recreate the directory after the removal
    await rm(this.root, { recursive: true, force: true });
  }
}
