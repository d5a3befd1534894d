// What a job's checkpoint directory holds, read offline: each checkpoint's id, time, size, kind and shared files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { CheckpointError } from '../errors.ts';
import { loadCheckpoint } from './checkpoint-metadata.ts';
import { checkpointDirs } from './checkpoint-recovery.ts';
import { fileHandlesOf } from './state-handles.ts';

export interface CheckpointListing {
  id: number;
  dir: string;
  /** null when the checkpoint cannot be read (`problem` says why) */
  timestamp: number | null;
  /** bytes of _metadata plus every file it references */
  size: number;
  incremental: boolean;
  /** referenced files under the job's shared/ directory, relative to it */
  sharedFiles: string[];
  problem?: string;
}

/** Job directories (`<dir>/<job-id>` holding chk-* or shared/) in a checkpoint directory. */
export function jobIdsIn(checkpointDir: string): string[] {
  const root = resolve(checkpointDir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `no checkpoint directory at ${root}`, {
      hint: 'pass the directory given as --checkpoint-dir (state.checkpoints.dir)',
    });
  }
  return readdirSync(root).filter((name) => {
    const d = join(root, name);
    return statSync(d).isDirectory() && (existsSync(join(d, 'shared')) || checkpointDirs(d).length > 0);
  });
}

/** The checkpoints of one job, newest first; damaged or unfinished ones are listed with their problem. */
export async function listCheckpoints(jobDir: string): Promise<CheckpointListing[]> {
  const shared = join(resolve(jobDir), 'shared') + sep;
  const out: CheckpointListing[] = [];
  for (const { id, dir } of checkpointDirs(resolve(jobDir))) {
    try {
      const loaded = await loadCheckpoint(dir, { verifyChecksums: false });
      const handles: unknown[] = Object.values(loaded.checkpoint.operators).flatMap((o) => o.subtasks.map((s) => s?.keyed));
      out.push({
        id,
        dir,
        timestamp: loaded.checkpoint.timestamp,
        size: loaded.metadataSize + loaded.files.reduce((n, f) => n + f.size, 0),
        incremental: handles.some((h) => (h as { type?: string } | null)?.type === 'incremental'),
        sharedFiles: [
          ...new Set(
            fileHandlesOf(loaded.checkpoint)
              .map((h) => h.path)
              .filter((p) => p.startsWith(shared))
              .map((p) => relative(shared, p)),
          ),
        ].sort(),
      });
    } catch (error) {
      out.push({ id, dir, timestamp: null, size: 0, incremental: false, sharedFiles: [], problem: (error as Error).message });
    }
  }
  return out;
}
