// A job's directory on local disk (level working state, local recovery copies), held by the process that runs the job: removed when the job ends, or by a later run once that process is gone.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** In each job directory: which process holds it. */
export const OWNER_FILE = '.floe-owner.json';

interface Owner {
  pid: number;
  host: string;
}

/** A job id as a directory name (ids the API chose are hex already). */
export const dirNameOf = (jobId: string) => jobId.replace(/[^\w.-]/g, '_');

/**
 * Whether process `pid` on this host is alive. EPERM: it exists, under another user. A reused pid
 * reads as alive: the directory is kept (a leak, never a removal of a live job's directory).
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ownerOf(dir: string): Promise<Owner | null> {
  try {
    const owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as Partial<Owner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? (owner as Owner) : null;
  } catch {
    return null;
  }
}

/**
 * Removes the job directories under `parent` whose owner process on this host is gone (killed,
 * crashed). A directory without an owner file (made by hand, by an older floe, or by another host
 * on a shared disk) is not floe's to judge and stays.
 */
export async function sweepStaleJobDirs(parent: string): Promise<string[]> {
  const removed: string[] = [];
  const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = join(parent, entry.name);
    const owner = await ownerOf(dir);
    if (!owner || owner.host !== hostname() || processAlive(owner.pid)) continue;
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).then(
      () => removed.push(dir),
      () => {},
    );
  }
  return removed;
}

/** A job's directory under `parent`, created with its owner file; `release` removes it. */
export class JobWorkingDir {
  private constructor(readonly path: string) {}

  /**
   * Creates `parent` if needed and the job's directory in it. Throws the system error (ENOTDIR,
   * EACCES, ...) when `parent` cannot hold it. The directory appears with its owner file already
   * inside (written in a temporary sibling, then renamed), so a sweep in another process never
   * sees it unowned.
   */
  static async claim(parent: string, jobId: string): Promise<JobWorkingDir> {
    const path = join(parent, dirNameOf(jobId));
    await mkdir(parent, { recursive: true });
    const staging = await mkdtemp(join(parent, `.${dirNameOf(jobId)}-`));
    try {
      await writeFile(join(staging, OWNER_FILE), JSON.stringify({ pid: process.pid, host: hostname() } satisfies Owner));
      await rename(staging, path);
    } catch (error) {
      await rm(staging, { recursive: true, force: true }).catch(() => {});
      throw error;
    }
    return new JobWorkingDir(path);
  }

  async release(): Promise<void> {
    // LevelDB may still be finishing a background file after close: retry instead of failing on ENOTEMPTY
    await rm(this.path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}
