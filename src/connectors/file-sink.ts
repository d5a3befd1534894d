// FileSink: writes records as lines to part files in a directory, exactly once by two-phase commit.
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { ListState } from '../backends/types.ts';
import { FloeError, JobDefinitionError, UnrecoverableError } from '../errors.ts';
import type { JobEnd, OperatorContext, Sink, StreamOperator } from '../operators/operator.ts';
import { emitFloeWarning } from '../warnings.ts';
import { formatRecord } from './format-record.ts';
import { parsePartName, partNames } from './part-files.ts';
import type { PartNaming } from './part-files.ts';
import { directoryOwners, markLineage } from './part-lineage.ts';

export interface FileSinkOptions {
  /** start of every part file name (Flink's OutputFileConfig partPrefix); default 'part' */
  partPrefix?: string;
  /** end of every part file name, e.g. '.txt'; default '' */
  partSuffix?: string;
  /**
   * On restore, go on when a part file the restored state holds as pre-committed is gone (neither
   * its pending nor its committed file exists: the output was deleted or moved elsewhere). Its
   * records are then lost. Default false: the job fails once with FLOE_SINK_PENDING_FILE_MISSING.
   */
  skipMissingPendingFiles?: boolean;
}

/** A part file that was pre-committed at `checkpointId`: renaming `tmp` to `final` (names in the sink's directory) commits it. */
export interface FileTransaction {
  checkpointId: number;
  tmp: string;
  final: string;
  /** the sink's directory when it was pre-committed (absent in state of older floe versions) */
  dir?: string;
}

/** Union state, so a restored subtask finds the counter of the old subtask with its index whatever the rescale. */
interface PartCounter {
  subtask: number;
  nextPart: number;
  /** the sink's lineage (part-lineage.ts): the job id of the fresh run this state descends from; absent in state of older floe versions */
  job?: string;
}

/** write once this many characters are buffered */
const FLUSH_AT = 64 * 1024;

export class FileSink<T = unknown> implements Sink<T> {
  readonly name: string;
  readonly dir: string;
  readonly naming: PartNaming;
  readonly skipMissingPendingFiles: boolean;
  /** the lineage of each job whose writers opened, by job id: the directory is checked once per job */
  readonly #lineages = new Map<string, string>();

  constructor(dir: string, options: FileSinkOptions = {}) {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('FileSink needs a directory path');
    const naming = { prefix: options.partPrefix ?? 'part', suffix: options.partSuffix ?? '' };
    if (/[/\\]/.test(naming.prefix + naming.suffix) || naming.prefix === '') {
      throw new TypeError('FileSink partPrefix must be non-empty and partPrefix/partSuffix must not contain path separators');
    }
    this.dir = resolve(dir);
    this.naming = naming;
    this.skipMissingPendingFiles = options.skipMissingPendingFiles === true;
    this.name = `FileSink(${this.dir})`;
  }

  /** Creates the directory if it is missing; FLOE_SINK_DIR_NOT_WRITABLE if that fails or it cannot be written. */
  validate(): void {
    ensureWritableDir(this.dir);
  }

  createWriter(): StreamOperator<T, never> {
    return new FileSinkWriter<T>(this);
  }

  /**
   * Called by the first writer of a job to open, before it commits anything: warns when the
   * directory holds committed parts of another lineage, as a re-run of a job into its old output
   * would add a second copy of every result. `known` is false for restored state of an older floe
   * (no lineage in it): nothing to compare, no warning.
   */
  checkDirectory(jobId: string, lineage: string, known: boolean): void {
    if (this.#lineages.has(jobId)) return;
    this.#lineages.set(jobId, lineage);
    const { parts, others } = directoryOwners(this.dir, this.naming, lineage);
    if (!known || others.length === 0) return;
    const shown = parts.slice(0, 3).join(', ') + (parts.length > 3 ? ', ...' : '');
    emitFloeWarning(
      'FLOE_SINK_OTHER_JOB_PARTS',
      `the FileSink directory ${this.dir} already holds ${parts.length} committed part file${parts.length === 1 ? '' : 's'} of another job (${shown}): this job adds its own beside them, so the directory will hold both outputs`,
      `remove the directory (or its part files) before the run, or give the FileSink another directory; to continue a stopped job's output, restore it (-s <savepoint or checkpoint>) instead of running it again`,
    );
  }

  /**
   * The job ended (canceled, failed for good, or finished): the hidden files it left are settled by
   * its last completed checkpoint, as a restore from that checkpoint would settle them. Parts
   * pre-committed up to it are committed (their completion notice did not reach the writer in time);
   * later ones and in-progress parts are deleted: no checkpoint holds their records, so the next run
   * writes them again.
   */
  onJobEnd({ jobId, lastCheckpointId }: JobEnd): void {
    const lineage = this.#lineages.get(jobId);
    this.#lineages.delete(jobId);
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return; // the directory is gone: nothing left to settle
    }
    for (const name of names) {
      const part = parsePartName(this.naming, name);
      if (!part || part.kind === 'final') continue;
      if (part.kind === 'pending' && lastCheckpointId !== null && part.checkpointId <= lastCheckpointId) {
        if (lineage !== undefined) markLineage(this.dir, this.naming, lineage);
        commit(this.dir, { checkpointId: part.checkpointId, tmp: name, final: partNames(this.naming).final(part.subtask, part.part) });
      } else {
        try {
          unlinkSync(join(this.dir, name));
        } catch {
          // gone already
        }
      }
    }
  }
}

function ensureWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new JobDefinitionError(
      'FLOE_SINK_DIR_NOT_WRITABLE',
      `the FileSink directory ${dir} cannot be created or written: ${(error as Error).message}`,
      {
        cause: error,
        hint: 'give the sink a directory path you may write to (it is created if missing)',
      },
    );
  }
}

class FileSinkWriter<T> implements StreamOperator<T, never> {
  #subtask = 0;
  #checkpointing = false;
  #pendingState!: ListState<FileTransaction>;
  #counterState!: ListState<PartCounter>;
  /** pre-committed part files waiting for their checkpoint to complete */
  #pending: FileTransaction[] = [];
  #nextPart = 0;
  /** the part being written: -1 until the first record after open or a checkpoint (no empty files) */
  #fd = -1;
  #current = { tmp: '', final: '' };
  #buffer = '';
  /** see part-lineage.ts */
  #lineage = '';
  /** directories this writer left its lineage's marker in (before its first commit there) */
  readonly #marked = new Set<string>();
  readonly dir: string;
  readonly naming: PartNaming;

  constructor(readonly sink: FileSink<T>) {
    this.dir = sink.dir;
    this.naming = sink.naming;
  }

  open(context: OperatorContext): void {
    const { subtaskIndex, parallelism, restoredCheckpointId } = context;
    this.#subtask = subtaskIndex;
    this.#checkpointing = context.checkpointingEnabled;
    this.#pendingState = context.operatorState.getListState<FileTransaction>('pending');
    this.#counterState = context.operatorState.getUnionListState<PartCounter>('part-counters');
    ensureWritableDir(this.dir);
    // a fresh run starts a lineage; a restored one continues its state's (a sink without state in the restored job starts one)
    const counters = restoredCheckpointId === null ? [] : this.#counterState.get();
    const restoredLineage = counters.find((c) => c.job !== undefined)?.job;
    this.#lineage = restoredLineage ?? context.jobId;
    this.sink.checkDirectory(context.jobId, this.#lineage, restoredLineage !== undefined || counters.length === 0);
    if (restoredCheckpointId !== null) {
      // pending in the restored snapshot = pre-committed at or before the restored checkpoint, which completed
      const commitIn = (dir: string, txn: FileTransaction) => this.#commit(dir, txn);
      for (const txn of this.#pendingState.get()) commitRestored(this.dir, txn, this.sink.skipMissingPendingFiles, commitIn);
      for (const c of counters) if (c.subtask === subtaskIndex) this.#nextPart = Math.max(this.#nextPart, c.nextPart);
    }
    this.#pendingState.clear();
    this.#abortLeftovers(parallelism, restoredCheckpointId);
  }

  processElement(record: T): void {
    if (this.#fd === -1) this.#openPart();
    this.#buffer += formatRecord(record) + '\n';
    if (this.#buffer.length >= FLUSH_AT) this.#flush();
  }

  /** Pre-commit: the current part is made durable, closed and renamed to a pending name that carries the checkpoint id. */
  snapshotState(checkpointId: number): void {
    if (this.#fd !== -1) {
      this.#closePart();
      const { tmp, final } = this.#current;
      const pendingName = partNames(this.naming).pending(final, checkpointId);
      renameSync(join(this.dir, tmp), join(this.dir, pendingName));
      this.#pending.push({ checkpointId, tmp: pendingName, final, dir: this.dir });
    }
    this.#pendingState.update(this.#pending);
    this.#counterState.update([{ subtask: this.#subtask, nextPart: this.#nextPart, job: this.#lineage }]);
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const still: FileTransaction[] = [];
    for (const txn of this.#pending) {
      if (txn.checkpointId <= checkpointId) this.#commit(this.dir, txn);
      else still.push(txn);
    }
    this.#pending = still;
  }

  endInput(): void {
    // with checkpoints, the final checkpoint pre-commits and commits the last part
    if (this.#checkpointing) return;
    // without, the input is final now: parts a savepoint pre-committed (one that was aborted, or has not completed
    // yet: committing twice is a no-op) and the current part
    for (const txn of this.#pending) this.#commit(this.dir, txn);
    this.#pending = [];
    if (this.#fd === -1) return;
    this.#closePart();
    this.#commit(this.dir, { checkpointId: 0, ...this.#current });
  }

  /** Commits, after leaving this lineage's marker in the directory (part-lineage.ts) before its first part there. */
  #commit(dir: string, txn: FileTransaction): void {
    if (!this.#marked.has(dir)) {
      markLineage(dir, this.naming, this.#lineage);
      this.#marked.add(dir);
    }
    commit(dir, txn);
  }

  /** Cancel or failure: the current part is aborted; pre-committed parts stay for a restore to commit. */
  close(): void {
    this.#buffer = '';
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      closeSync(fd);
    } catch {
      // close must not throw while a task tears down
    }
    try {
      unlinkSync(join(this.dir, this.#current.tmp));
    } catch {
      // already gone: nothing to abort
    }
  }

  #openPart(): void {
    const names = partNames(this.naming);
    const final = names.final(this.#subtask, this.#nextPart++);
    this.#current = { tmp: names.inProgress(final), final };
    this.#fd = openSync(join(this.dir, this.#current.tmp), 'w');
  }

  #flush(): void {
    if (this.#buffer === '') return;
    const bytes = Buffer.from(this.#buffer, 'utf8');
    this.#buffer = '';
    let written = 0;
    while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written);
  }

  #closePart(): void {
    this.#flush();
    fdatasyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = -1;
  }

  /**
   * Deletes the hidden files that no checkpoint will commit: in-progress parts (never pre-committed)
   * and parts pre-committed after the restored checkpoint (all of them on a fresh start). Subtask k
   * takes care of the names of every old subtask s with s % parallelism == k, so after a rescale
   * down nothing is left behind, and no two subtasks delete the same file. Parts pre-committed at or
   * before the restored checkpoint are kept: the subtask that got them in its state commits them,
   * whatever its index. Also moves the part counter past every part this subtask's name still has,
   * so nothing is overwritten.
   */
  #abortLeftovers(parallelism: number, restoredCheckpointId: number | null): void {
    for (const name of readdirSync(this.dir)) {
      const part = parsePartName(this.naming, name);
      if (!part) continue;
      const aborted =
        part.kind === 'in-progress' ||
        (part.kind === 'pending' && (restoredCheckpointId === null || part.checkpointId > restoredCheckpointId));
      if (aborted && part.subtask % parallelism === this.#subtask) {
        try {
          unlinkSync(join(this.dir, name));
        } catch {
          // gone already
        }
      } else if (part.subtask === this.#subtask && !aborted) {
        this.#nextPart = Math.max(this.#nextPart, part.part + 1);
      }
    }
  }
}

/** Renames a pre-committed part to its final name. Idempotent: tmp gone and final present means committed before. */
function commit(dir: string, txn: FileTransaction): void {
  try {
    renameSync(join(dir, txn.tmp), join(dir, txn.final));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(join(dir, txn.final))) return;
    throw new FloeError('FLOE_SINK_COMMIT_FAILED', `cannot commit ${txn.tmp} as ${txn.final} in ${dir}: ${(error as Error).message}`, {
      cause: error,
      hint: 'a pre-committed part file was removed or the directory changed; its records are lost for this checkpoint',
    });
  }
}

/**
 * Commits a transaction of restored state, as Flink's FileSink recovers its pending files: it was
 * pre-committed in the directory recorded with it (the sink may now write elsewhere: a job restored
 * from a savepoint with another output directory), or in the sink's directory if the output was
 * moved there. A pending file present is committed where it is; a committed file present means it
 * was committed before. Neither anywhere means the output was deleted or moved away: restarting
 * cannot bring it back, so the job fails once with the paths and the fix instead of restarting forever.
 */
function commitRestored(
  sinkDir: string,
  txn: FileTransaction,
  skipMissing: boolean,
  commitIn: (dir: string, txn: FileTransaction) => void,
): void {
  const dirs = [...new Set([txn.dir ?? sinkDir, sinkDir])];
  const at = dirs.find((d) => existsSync(join(d, txn.tmp)));
  if (at !== undefined) return commitIn(at, txn);
  if (dirs.some((d) => existsSync(join(d, txn.final))) || skipMissing) return;
  const where = dirs.join(' nor in ');
  throw new UnrecoverableError(
    'FLOE_SINK_PENDING_FILE_MISSING',
    `the restored state holds part file ${txn.final}, pre-committed at checkpoint ${txn.checkpointId}, but neither ${txn.tmp} nor ${txn.final} is in ${where}: the output it was written to was moved or deleted`,
    {
      hint: `put that output back in ${dirs[0]} (the FileSink directory of the run that took the savepoint) and run again, or build the FileSink with { skipMissingPendingFiles: true } to go on without those records`,
    },
  );
}
