// Finding a restorable checkpoint on disk: the one named, else older retained ones beside it, newest first.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { CheckpointError, JobExecutionError } from '../errors.ts';
import { loadCheckpoint, METADATA_FILE } from './checkpoint-metadata.ts';
import type { RestoreOrigin, RestoreWarning } from './types.ts';

export type { RestoreOrigin } from './types.ts';

const CHK = /^chk-(\d+)$/;

/** In a job's checkpoint directory: what the run was restored from, so a resume of it finds state before its first checkpoint. */
export const RESTORED_FROM_FILE = '_restored-from';

/** The job's checkpoint directory `path` names (itself, or the parent of a `chk-<n>`), if it is one. */
export function jobDirOf(path: string): string {
  const abs = resolve(path);
  return CHK.test(basename(abs)) ? dirname(abs) : abs;
}

/** What the run that wrote `jobDir` was restored from, or null (started fresh, written by an older floe, unreadable). */
export function readRestoreOrigin(jobDir: string): RestoreOrigin | null {
  try {
    const origin = JSON.parse(readFileSync(join(jobDir, RESTORED_FROM_FILE), 'utf8')) as Partial<RestoreOrigin>;
    if (
      (origin.kind !== 'savepoint' && origin.kind !== 'checkpoint') ||
      typeof origin.path !== 'string' ||
      typeof origin.checkpointId !== 'number'
    )
      return null;
    return { kind: origin.kind, path: origin.path, checkpointId: origin.checkpointId };
  } catch {
    return null;
  }
}

/** `chk-<n>` directories in a job's checkpoint directory, newest first. */
export function checkpointDirs(jobDir: string): Array<{ id: number; dir: string }> {
  let names: string[];
  try {
    names = readdirSync(jobDir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ m: CHK.exec(name), name }))
    .filter((x) => x.m !== null)
    .map((x) => ({ id: Number(x.m![1]), dir: join(jobDir, x.name) }))
    .sort((a, b) => b.id - a.id);
}

/**
 * Refuses the directory given as --checkpoint-dir itself (a common first try): it holds one
 * directory per job, and which job to resume is the user's choice. Names the paths to pass instead.
 */
export function refuseCheckpointRoot(path: string): void {
  const abs = resolve(path);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch {
    return; // missing or a file: the restore path check reports it
  }
  if (names.includes(METADATA_FILE) || names.some((n) => CHK.test(n))) return;
  const jobs = names
    .map((name) => ({ name, newest: checkpointDirs(join(abs, name))[0] }))
    .filter((j) => j.newest !== undefined)
    // the most recently written job first: checkpoint ids of different jobs do not compare
    .map((j) => ({ ...j, at: statSync(j.newest!.dir).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  if (jobs.length === 0) return;
  const example = jobs[0]!;
  throw new CheckpointError(
    'FLOE_RESTORE_PATH_IS_CHECKPOINT_DIR',
    `${abs} is a checkpoint directory holding ${jobs.length} job(s): ${jobs.map((j) => j.name).join(', ')}; name the job to resume`,
    {
      hint: `pass a job's directory, e.g. -s ${join(abs, example.name)} (its newest usable checkpoint), or one checkpoint, e.g. -s ${example.newest!.dir}; floe checkpoints ${path} lists them`,
    },
  );
}

/**
 * The directories to try for `path`, in order: a `chk-<n>` directory and then the older
 * `chk-<m>` beside it; a job directory's checkpoints newest first; a savepoint directory alone.
 */
export function restoreCandidates(path: string): string[] {
  const abs = resolve(path);
  if (!existsSync(abs)) {
    throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `no checkpoint or savepoint at ${abs}`, {
      hint: "pass <checkpoint-dir>/<job-id>/chk-<n>, a job's checkpoint directory, or a savepoint directory (floe checkpoints <checkpoint-dir> lists them)",
    });
  }
  const m = CHK.exec(basename(abs));
  if (m)
    return [
      abs,
      ...checkpointDirs(dirname(abs))
        .filter((c) => c.id < Number(m[1]))
        .map((c) => c.dir),
    ];
  if (existsSync(join(abs, METADATA_FILE))) return [abs];
  const inside = checkpointDirs(abs);
  return inside.length > 0 ? inside.map((c) => c.dir) : [abs];
}

/** Loads the first candidate of `path` that validates (and says which directory it is); reports each damaged one; fails listing all that were tried. */
export async function resolveRestorePath(
  path: string,
  report: (w: RestoreWarning) => void = () => {},
): Promise<{ dir: string; checkpoint: CompletedCheckpoint }> {
  const tried: string[] = [];
  for (const dir of restoreCandidates(path)) {
    try {
      return { dir, checkpoint: (await loadCheckpoint(dir)).checkpoint };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      tried.push(`${dir}: ${reason}`);
      report({ checkpoint: dir, reason });
    }
  }
  throw new JobExecutionError('FLOE_NO_USABLE_CHECKPOINT', `no usable checkpoint at ${resolve(path)}; tried ${tried.join('; ')}`, {
    hint: 'pass another checkpoint or savepoint directory, or start the job without --from-checkpoint',
  });
}
