// The `level` preset (Flink's RocksDBStateBackend): working state in LevelDB on local disk, snapshots to files, optionally incremental.
import { ConfigError } from '../errors.ts';
import { DEFAULT_LEVEL_LOCAL_DIR, LevelKeyedBackend, type LevelBackendOptions } from './level-keyed-backend.ts';
import { JobWorkingDir, sweepStaleJobDirs } from './local-working-dir.ts';
import { describeCause } from './system-error.ts';
import type { KeyedBackendOptions, KeyedStateBackend, StateBackend, StateBackendFeatures } from './types.ts';

/** A running job's working directory and the keyed backends made in it that may still be open. */
interface LevelJob {
  dir: JobWorkingDir;
  /** stale directories of dead runs, removed in the background: a job's start does not wait for gigabytes to go */
  swept: Promise<unknown>;
  keyed: Set<LevelKeyedBackend>;
}

export class LevelStateBackend implements StateBackend {
  readonly name = 'level';
  readonly features: StateBackendFeatures = { incremental: true, offHeap: true };
  readonly #jobs = new Map<string, LevelJob>();

  constructor(readonly options: LevelBackendOptions = {}) {}

  /**
   * Claims the job's working directory before any task starts (as Flink checks RocksDB's local
   * directories): a local directory that cannot hold it fails here, with the system's code, not
   * as "Database failed to open" in every task of every restart.
   */
  async prepareJob(jobId: string): Promise<void> {
    const parent = this.options.localDir ?? DEFAULT_LEVEL_LOCAL_DIR;
    try {
      const dir = await JobWorkingDir.claim(parent, jobId);
      this.#jobs.set(jobId, { dir, swept: sweepStaleJobDirs(parent).catch(() => {}), keyed: new Set() });
    } catch (cause) {
      throw new ConfigError(
        'FLOE_LEVEL_LOCALDIR_NOT_WRITABLE',
        `cannot create the level backend's working directory in ${parent}: ${describeCause(cause)}`,
        {
          cause,
          hint: 'point state.backend.level.localdir at a local directory you may write to (it is created if missing)',
        },
      );
    }
  }

  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend {
    const backend = new LevelKeyedBackend(options, this.options);
    const job = this.#jobs.get(options.jobId);
    if (job) {
      for (const b of job.keyed) if (b.disposed) job.keyed.delete(b); // earlier attempts' backends
      job.keyed.add(backend);
    }
    return backend;
  }

  /** After the job ended: closes the databases its tasks left open (a failed task closes in the background), then removes its directory. */
  async releaseJob(jobId: string): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (!job) return;
    this.#jobs.delete(jobId);
    await Promise.allSettled([...job.keyed].map((b) => b.dispose()));
    await job.swept; // the job's end leaves nothing running
    await job.dir.release();
  }
}
