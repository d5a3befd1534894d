// A retained checkpoint read offline, found as `-s` finds it: a chk-<n> directory, or a job's checkpoint directory (its newest usable one).
import { basename, dirname } from 'node:path';
import type { StateHandle } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { readStateFile } from '../storage/read-state-file.ts';
import type { RestoreWarning } from '../storage/types.ts';
import { StateReader } from './state-reader.ts';

/** One part of a checkpoint's keyed snapshot: inlined in `_metadata`, or a file checked against its size and checksum. */
function readPart(handle: StateHandle): Promise<Uint8Array> {
  if (handle.type === 'bytes') return Promise.resolve(handle.bytes);
  if (handle.type !== 'file') throw new TypeError('a retained checkpoint reads one part of a snapshot at a time: a file or bytes handle');
  return readStateFile(handle.path, handle.size, handle.checksum);
}

export class RetainedCheckpoint extends StateReader {
  private constructor(dir: string, checkpoint: CompletedCheckpoint) {
    super('checkpoint', dir, checkpoint, readPart);
  }

  /**
   * Opens the checkpoint `path` names after verifying `_metadata` and every file it references; a
   * damaged one is reported and the one before it tried, as a restore does.
   */
  static async load(path: string, report?: (warning: RestoreWarning) => void): Promise<RetainedCheckpoint> {
    // loaded here: importing floe (which exports RetainedCheckpoint) skips checkpoint recovery's code
    const { resolveRestorePath } = await import('../storage/checkpoint-recovery.ts');
    const { dir, checkpoint } = await resolveRestorePath(path, report);
    return new RetainedCheckpoint(dir, checkpoint);
  }

  get id(): number {
    return this.checkpoint.id;
  }

  /** the id of the job that took it: checkpoints live in `<checkpoint-dir>/<job-id>/chk-<n>` */
  get jobId(): string {
    return basename(dirname(this.path));
  }

  /** whether some subtask's keyed state is a full snapshot with deltas (an incremental backend's materialisation has none) */
  get incremental(): boolean {
    const withDeltas = (h: StateHandle | null | undefined) => h?.type === 'incremental' && h.deltas.length > 0;
    return Object.values(this.checkpoint.operators).some((op) => op.subtasks.some((s) => withDeltas(s?.keyed)));
  }
}
