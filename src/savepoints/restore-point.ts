// Turns a savepoint (or, with the file checkpoint storage, a checkpoint directory) into the job's first restore point.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CompletedCheckpoint, OperatorState } from '../checkpoint/completed-checkpoint.ts';
import { SavepointError } from '../errors.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { keyedHandle, loadSavepoint, savepointDirOf, type LoadedSavepoint } from './savepoint-loader.ts';
import { isCheckpointMetadataFile } from '../storage/checkpoint-metadata.ts';
import { keyedBytes, type SavepointOperator } from './savepoint-metadata.ts';

export type RestoreMode = 'no-claim' | 'claim';

export interface RestoreOptions {
  /** skip savepoint state whose uid is no operator of the job (`--allow-non-restored-state`) */
  allowNonRestoredState: boolean;
}

export interface RestorePoint {
  /** where it came from, absolute */
  path: string;
  checkpoint: CompletedCheckpoint;
  /** uids in the savepoint that the job does not have (skipped) */
  nonRestored: string[];
  /** taken by stop --drain: operators already flushed their end of input (see the README) */
  drained: boolean;
}

function hasState(op: SavepointOperator): boolean {
  return op.subtasks.some((s) => s.keyed !== null || Object.values(s.operator).some((l) => l.items.length > 0));
}

/** The operator uids of a job graph. */
export function operatorUids(graph: JobGraph): Set<string> {
  return new Set(graph.vertices.flatMap((v) => v.chain.map((t) => t.uid!)));
}

/** Checks that the savepoint fits the job: same max parallelism, every stateful uid matched (unless allowed). */
export function matchToJob(loaded: LoadedSavepoint, graph: JobGraph, options: RestoreOptions): string[] {
  const { metadata, dir } = loaded;
  if (metadata.maxParallelism !== graph.maxParallelism) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_MAX_PARALLELISM_CHANGED',
      `savepoint ${dir} was taken with max parallelism ${metadata.maxParallelism}; the job has ${graph.maxParallelism}`,
      { hint: `keyed state is split into max-parallelism key groups and cannot be regrouped: set pipeline.max-parallelism=${metadata.maxParallelism}` },
    );
  }
  const uids = operatorUids(graph);
  const unmatched = Object.entries(metadata.operators).filter(([uid, op]) => !uids.has(uid) && hasState(op)).map(([uid]) => uid);
  if (unmatched.length > 0 && !options.allowNonRestoredState) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_UNMATCHED_STATE',
      `savepoint ${dir} has state for operator uid(s) ${unmatched.map((u) => `'${u}'`).join(', ')} that the job does not have (job uids: ${[...uids].join(', ')})`,
      { hint: 'give those operators the same .uid(...) as before, repair the savepoint with `floe savepoint rename-uid`, or skip that state with --allow-non-restored-state' },
    );
  }
  return unmatched;
}

/** A restore point with `file` handles at absolute paths, so any checkpoint storage can read them. */
export function toCompletedCheckpoint(loaded: LoadedSavepoint, skip: ReadonlySet<string> = new Set()): CompletedCheckpoint {
  const { metadata, dir } = loaded;
  const operators: Record<string, OperatorState> = {};
  let stateSize = 0;
  for (const [uid, op] of Object.entries(metadata.operators)) {
    if (skip.has(uid)) continue;
    operators[uid] = {
      parallelism: op.parallelism,
      subtasks: op.subtasks.map((s) => {
        stateSize += keyedBytes(s.keyed);
        return { operator: s.operator, keyed: s.keyed ? keyedHandle(dir, s.keyed) : null };
      }),
    };
  }
  return {
    id: metadata.checkpointId,
    kind: 'savepoint',
    timestamp: metadata.timestamp,
    completedAt: metadata.timestamp,
    durationMs: 0,
    stateSize,
    maxParallelism: metadata.maxParallelism,
    operators,
  };
}

/**
 * Whether `path` names a savepoint rather than a retained checkpoint: anything but a `chk-<n>` directory,
 * a job's checkpoint directory (it holds `chk-<n>`), a `_metadata` of a checkpoint, or a path that does
 * not exist (the checkpoint loader reports it for both kinds).
 */
export function isSavepointPath(path: string): boolean {
  const dir = savepointDirOf(path);
  if (!existsSync(dir) || /^chk-\d+$/.test(basename(dir))) return false;
  const metadata = join(dir, '_metadata');
  if (!existsSync(metadata)) return !(statSync(dir).isDirectory() && readdirSync(dir).some((n) => /^chk-\d+$/.test(n)));
  return !isCheckpointMetadataFile(metadata);
}

/**
 * Validates `path` against the job before any task starts and returns the restore point.
 */
export async function loadRestorePoint(path: string, graph: JobGraph, options: RestoreOptions): Promise<RestorePoint> {
  const dir = savepointDirOf(path);
  const loaded = await loadSavepoint(dir);
  const nonRestored = matchToJob(loaded, graph, options);
  return { path: loaded.dir, checkpoint: toCompletedCheckpoint(loaded, new Set(nonRestored)), nonRestored, drained: loaded.metadata.drained === true };
}
