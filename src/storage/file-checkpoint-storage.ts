// Checkpoint storage on a file system (Flink's FileSystemCheckpointStorage): durable snapshot files, _metadata, retention.
import { mkdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { nanoid } from 'nanoid';
import type { SnapshotScope, StateHandle, TaskStateStorage } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { loadNativeDecoding } from '../checkpoint/state-value-codec.ts';
import { CheckpointError, ConfigError, JobExecutionError } from '../errors.ts';
import { loadCheckpoint, writeMetadata } from './checkpoint-metadata.ts';
import { RESTORED_FROM_FILE, type RestoreOrigin } from './checkpoint-recovery.ts';
import { syncDir, writeAtomic, writeDurable } from './durable-files.ts';
import { LocalRecovery } from './local-recovery.ts';
import { readStateFile } from './read-state-file.ts';
import { SharedStateRegistry } from './shared-state-registry.ts';
import { fileHandlesOf } from './state-handles.ts';
import type { ExternalizedRetention } from '../config/config-options.ts';
import type { CheckpointStorage, JobEndStatus, RestoreWarning } from './types.ts';

export const DEFAULT_MEMORY_THRESHOLD = 20 * 1024;

export interface FileCheckpointStorageOptions {
  /** `state.checkpoints.dir`: the job's files go to `<dir>/<jobId>/` */
  dir: string;
  jobId: string;
  /** parts smaller than this come back inline (`bytes`) and end up in `_metadata`; default 20 KiB */
  memoryThreshold?: number;
  /** completed checkpoints kept; default 1 */
  numRetained?: number;
  /** what stays when the job ends; default NO_EXTERNALIZED_CHECKPOINTS (as Flink) */
  retention?: ExternalizedRetention;
  /** keep task-local copies of snapshot files under `dir` and read them first on restore */
  localRecovery?: { dir: string } | false;
}

interface Retained {
  id: number;
  dir: string;
}

/** What a job's storage read and wrote, for specs and metrics. */
export interface FileStorageStats {
  filesWritten: number;
  inlined: number;
  /** state files read from the checkpoint directory */
  remoteReads: number;
  /** state files read from their task-local copy */
  localReads: number;
}

const RETAIN: Record<ExternalizedRetention, Record<JobEndStatus, boolean>> = {
  DELETE_ON_CANCELLATION: { FINISHED: false, CANCELED: false, FAILED: true },
  RETAIN_ON_CANCELLATION: { FINISHED: true, CANCELED: true, FAILED: true },
  NO_EXTERNALIZED_CHECKPOINTS: { FINISHED: false, CANCELED: false, FAILED: false },
};

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);

export class FileCheckpointStorage implements CheckpointStorage {
  readonly name = 'fs';
  readonly jobDir: string;
  readonly sharedDir: string;
  readonly memoryThreshold: number;
  readonly numRetained: number;
  readonly retention: ExternalizedRetention;
  readonly local: LocalRecovery | null;
  readonly stats: FileStorageStats = { filesWritten: 0, inlined: 0, remoteReads: 0, localReads: 0 };
  readonly registry = new SharedStateRegistry();
  /** retained checkpoints, oldest first */
  readonly #retained: Retained[] = [];
  /** persist, discard, restore and shutdown run one at a time, in order */
  #queue: Promise<unknown> = Promise.resolve();
  /** checkpoints discarded (aborted): a task's late write for one must not leave a directory behind */
  readonly #discarded = new Set<number>();
  /** the job ended (shutdown called): nothing may be written any more */
  #closed = false;
  /** writes under way: the job's end waits for them, so a late write of an aborted checkpoint cleans up first */
  readonly #writing = new Set<Promise<StateHandle>>();
  /** directories this storage created (a write skips mkdir for them) */
  readonly #made = new Set<string>();

  constructor(options: FileCheckpointStorageOptions) {
    if (!options.dir) {
      throw new ConfigError(
        'FLOE_CHECKPOINT_DIR_MISSING',
        'the fs and level state backends write checkpoints to files, but no checkpoint directory is set',
        {
          hint: 'pass --checkpoint-dir DIR (state.checkpoints.dir)',
        },
      );
    }
    this.jobDir = join(resolve(options.dir), options.jobId);
    this.sharedDir = join(this.jobDir, 'shared');
    this.memoryThreshold = options.memoryThreshold ?? DEFAULT_MEMORY_THRESHOLD;
    this.numRetained = options.numRetained ?? 1;
    this.retention = options.retention ?? 'NO_EXTERNALIZED_CHECKPOINTS';
    this.local = options.localRecovery ? new LocalRecovery(resolve(options.localRecovery.dir), options.jobId) : null;
    try {
      for (const d of [this.sharedDir, join(this.jobDir, 'taskowned')]) mkdirSync(d, { recursive: true });
    } catch (cause) {
      throw new ConfigError(
        'FLOE_CHECKPOINT_DIR_NOT_WRITABLE',
        `cannot create the checkpoint directory ${this.jobDir}: ${(cause as Error).message}`,
        {
          cause,
          hint: 'pass a --checkpoint-dir you may write to',
        },
      );
    }
  }

  /** ids of the retained checkpoints, oldest first */
  get retained(): number[] {
    return this.#retained.map((r) => r.id);
  }

  checkpointDir(id: number): string {
    return join(this.jobDir, `chk-${id}`);
  }

  #absolute(path: string): string {
    return isAbsolute(path) ? path : join(this.jobDir, path);
  }

  /** the path relative to the job directory, or null for a file outside it (another job's, a savepoint's) */
  #insideJob(path: string): string | null {
    const rel = relative(this.jobDir, this.#absolute(path));
    return rel.startsWith('..') || isAbsolute(rel) ? null : rel;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  forSubtask(operatorUid: string, subtaskIndex: number): TaskStateStorage {
    const prefix = `${safeName(operatorUid)}-${subtaskIndex}`;
    return {
      write: (checkpointId, scope, data) => {
        if (this.#closed)
          return Promise.reject(
            new CheckpointError('FLOE_CHECKPOINT_ABORTED', `checkpoint ${checkpointId} was not written: the job has ended`),
          );
        const writing = this.#write(checkpointId, scope, `${prefix}-${nanoid(10)}`, data, `'${operatorUid}' (subtask ${subtaskIndex})`);
        this.#writing.add(writing);
        const done = () => this.#writing.delete(writing);
        writing.then(done, done);
        return writing;
      },
      read: (handle) => this.#read(handle),
    };
  }

  async #write(
    checkpointId: number,
    scope: SnapshotScope,
    name: string,
    data: Uint8Array | AsyncIterable<Uint8Array>,
    who: string,
  ): Promise<StateHandle> {
    const rel = scope === 'shared' ? join('shared', name) : join(`chk-${checkpointId}`, name);
    const path = join(this.jobDir, rel);
    // small parts stay inline: buffer until the threshold is crossed, then stream the rest to the file
    const buffered: Uint8Array[] = [];
    let size = 0;
    const source = data instanceof Uint8Array ? [data] : data;
    const iterator = (Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()) as
      AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
    let done = false;
    while (size < this.memoryThreshold || this.memoryThreshold === 0) {
      const r = await iterator.next();
      if (r.done) {
        done = true;
        break;
      }
      buffered.push(r.value);
      size += r.value.length;
      if (this.memoryThreshold === 0) break;
    }
    if (done && size < this.memoryThreshold) {
      this.stats.inlined++;
      const bytes = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
      return { type: 'bytes', bytes, size };
    }
    const copies: Uint8Array[] | null = this.local ? [] : null;
    async function* all(): AsyncIterable<Uint8Array> {
      for (const c of buffered) {
        copies?.push(c);
        yield c;
      }
      if (done) return;
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
        copies?.push(r.value);
        yield r.value;
      }
    }
    let written: { size: number; checksum: string };
    try {
      const parent = join(path, '..');
      if (!this.#made.has(parent)) {
        await mkdir(parent, { recursive: true });
        this.#made.add(parent);
      }
      // the directory entry is synced once per checkpoint, before _metadata (persist)
      written = await writeDurable(path, all(), { syncDirectory: false });
    } catch (cause) {
      this.#made.clear(); // the directory may have gone: create it again next time
      throw new CheckpointError(
        'FLOE_CHECKPOINT_WRITE_FAILED',
        `cannot write the state of ${who} for checkpoint ${checkpointId} to ${path}: ${(cause as Error).message}`,
        {
          cause,
          hint: 'check that state.checkpoints.dir exists, is writable and has free space; the next checkpoint will try again',
        },
      );
    }
    if (scope === 'exclusive' && this.#discarded.has(checkpointId)) {
      // the checkpoint was aborted while this part was being written: remove what the write left
      await rm(this.checkpointDir(checkpointId), { recursive: true, force: true }).catch(() => {});
      this.#made.delete(this.checkpointDir(checkpointId));
      throw new CheckpointError('FLOE_CHECKPOINT_ABORTED', `checkpoint ${checkpointId} was aborted while ${who} wrote its state`);
    }
    this.stats.filesWritten++;
    if (copies) await this.local!.save(rel, copies);
    return { type: 'file', path: rel, size: written.size, checksum: written.checksum };
  }

  async #read(handle: StateHandle): Promise<Uint8Array> {
    await loadNativeDecoding(); // what is read is decoded next (a restore)
    if (handle.type === 'bytes') return handle.bytes;
    if (handle.type !== 'file') {
      throw new CheckpointError(
        'FLOE_UNSUPPORTED_HANDLE',
        `checkpoint storage reads bytes and file handles; an ${handle.type} handle is resolved by its backend`,
      );
    }
    const rel = this.#insideJob(handle.path);
    if (this.local && rel !== null) {
      const bytes = await this.local.load(rel, handle.checksum);
      if (bytes) {
        this.stats.localReads++;
        return bytes;
      }
    }
    const bytes = await readStateFile(this.#absolute(handle.path), handle.size, handle.checksum);
    this.stats.remoteReads++;
    return bytes;
  }

  /** the shared files (absolute paths, inside this job) a checkpoint references */
  #sharedFiles(checkpoint: CompletedCheckpoint): string[] {
    return fileHandlesOf(checkpoint)
      .map((h) => this.#absolute(h.path))
      .filter((p) => p.startsWith(this.sharedDir + sep));
  }

  persist(checkpoint: CompletedCheckpoint): Promise<void> {
    // a savepoint goes to its own directory (issue 5); it is never retained or deleted as a checkpoint
    if (checkpoint.kind !== 'checkpoint') return Promise.resolve();
    // completed after the job ended (a late acknowledgement): the job's directory is no longer ours to write
    if (this.#closed)
      return Promise.reject(
        new CheckpointError('FLOE_CHECKPOINT_ABORTED', `checkpoint ${checkpoint.id} was not persisted: the job has ended`),
      );
    return this.#serial(async () => {
      const dir = this.checkpointDir(checkpoint.id);
      await mkdir(dir, { recursive: true });
      // the parts' directory entries become durable before _metadata makes the checkpoint count
      await Promise.all([syncDir(dir), syncDir(this.sharedDir)]);
      await writeMetadata(dir, checkpoint, this.jobDir);
      // register the new checkpoint's references before older ones release theirs: a file both need never drops to zero
      this.registry.register(checkpoint.id, this.#sharedFiles(checkpoint));
      this.#retained.push({ id: checkpoint.id, dir });
      this.#retained.sort((a, b) => a.id - b.id);
      while (this.#retained.length > this.numRetained) await this.#drop(this.#retained.shift()!);
      if (this.local) {
        const keep = new Set(
          fileHandlesOf(checkpoint)
            .map((h) => this.#insideJob(h.path))
            .filter((p): p is string => p !== null),
        );
        await this.local.retainOnly(keep);
      }
    });
  }

  /** Deletes a checkpoint that is no longer retained: its directory (exclusive files) and the shared files nobody else references. */
  async #drop(entry: Retained): Promise<void> {
    for (const path of this.registry.unregister(entry.id)) await rm(path, { force: true });
    await rm(entry.dir, { recursive: true, force: true });
    this.#made.delete(entry.dir);
  }

  discard(checkpointId: number): Promise<void> {
    return this.#serial(async () => {
      // aborted after its _metadata was written (the job ended or failed meanwhile): every task acknowledged
      // it and it is durable, so it stays a valid restore point (sinks commit its transactions on restore)
      if (this.#retained.some((r) => r.id === checkpointId)) return;
      this.#discarded.add(checkpointId);
      // a half-written checkpoint: never taken for a complete one, so its files go
      await rm(this.checkpointDir(checkpointId), { recursive: true, force: true }).catch(() => {});
      this.#made.delete(this.checkpointDir(checkpointId));
    });
  }

  restorePoint(report: (warning: RestoreWarning) => void): Promise<CompletedCheckpoint | null> {
    return this.#serial(async () => {
      const tried: string[] = [];
      while (this.#retained.length > 0) {
        const entry = this.#retained.at(-1)!;
        try {
          const trusted =
            this.local &&
            (async (path: string, checksum: string) => {
              const rel = this.#insideJob(path);
              return rel !== null && (await this.local!.load(rel, checksum)) !== null;
            });
          return (await loadCheckpoint(entry.dir, { trusted: trusted || undefined })).checkpoint;
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          tried.push(`chk-${entry.id}: ${reason}`);
          report({ checkpoint: entry.dir, reason });
          this.#retained.pop();
          await this.#drop(entry);
        }
      }
      if (tried.length === 0) return null;
      throw new JobExecutionError('FLOE_NO_USABLE_CHECKPOINT', `no retained checkpoint can be restored; tried ${tried.join('; ')}`, {
        hint: 'restore an older checkpoint or savepoint with --from-checkpoint, or start the job afresh',
      });
    });
  }

  /**
   * Written before any task runs: if this run is killed before its first checkpoint completes, `-s` of
   * its directory falls back to what it was restored from (see restore-point.ts).
   */
  async recordRestoreOrigin(origin: RestoreOrigin): Promise<void> {
    await writeAtomic(join(this.jobDir, RESTORED_FROM_FILE), new TextEncoder().encode(`${JSON.stringify(origin)}\n`));
  }

  shutdown(status: JobEndStatus): Promise<void> {
    this.#closed = true;
    return this.#serial(async () => {
      await Promise.allSettled([...this.#writing]);
      await this.local?.clear();
      if (RETAIN[this.retention][status]) return;
      for (const entry of this.#retained.splice(0)) await this.#drop(entry);
      await rm(this.jobDir, { recursive: true, force: true });
    });
  }
}
