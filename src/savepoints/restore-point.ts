// Turns a savepoint or a retained checkpoint into the job's first restore point, matched to the job's operator uids.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import type { OperatorSubtaskState } from '../checkpoint/state-handles.ts';
import { SavepointError } from '../errors.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { isCheckpointMetadataFile } from '../storage/checkpoint-metadata.ts';
import { checkpointDirs, jobDirOf, readRestoreOrigin, refuseCheckpointRoot, RESTORED_FROM_FILE } from '../storage/checkpoint-recovery.ts';
import type { RestoreWarning } from '../storage/types.ts';
import { RetainedCheckpoint } from './retained-checkpoint.ts';
import { Savepoint } from './savepoint.ts';
import { savepointDirOf } from './savepoint-loader.ts';
import type { RestorePointKind } from './state-reader.ts';

export type RestoreMode = 'no-claim' | 'claim';

export interface RestoreOptions {
  /** skip state whose uid is no operator of the job (`--allow-non-restored-state`) */
  allowNonRestoredState: boolean;
}

export interface RestorePoint {
  kind: RestorePointKind;
  /** where it came from, absolute: the savepoint directory, or the `chk-<n>` directory restored */
  path: string;
  checkpoint: CompletedCheckpoint;
  /** uids in the savepoint or checkpoint that the job does not have (skipped) */
  nonRestored: string[];
  /** taken by stop --drain: operators already flushed their end of input (see the README) */
  drained: boolean;
  /** what the user should know before the job runs: damaged checkpoints passed over, sources reading another file than the job names */
  warnings: string[];
}

const hasItems = (subtask: OperatorSubtaskState | undefined) =>
  !!subtask && (subtask.keyed !== null || Object.values(subtask.operator).some((l) => l.items.length > 0));

/** Uids that hold state in `checkpoint`: keyed or operator state, or in-flight data of a chain they head. */
function statefulUids(checkpoint: CompletedCheckpoint): Set<string> {
  const uids = new Set(
    Object.entries(checkpoint.operators)
      .filter(([, op]) => op.subtasks.some(hasItems))
      .map(([uid]) => uid),
  );
  for (const channel of Object.values(checkpoint.channelState ?? {})) uids.add(channel.operatorUid);
  return uids;
}

/** The operator uids of a job graph. */
export function operatorUids(graph: JobGraph): Set<string> {
  return new Set(graph.vertices.flatMap((v) => v.chain.map((t) => t.uid!)));
}

/**
 * Checks that a savepoint or retained checkpoint fits the job: same max parallelism, every stateful
 * uid matched (unless allowed). Returns the unmatched uids.
 */
export function matchToJob(
  kind: RestorePointKind,
  path: string,
  checkpoint: CompletedCheckpoint,
  graph: JobGraph,
  options: RestoreOptions,
): string[] {
  if (checkpoint.maxParallelism !== graph.maxParallelism) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_MAX_PARALLELISM_CHANGED',
      `${kind} ${path} was taken with max parallelism ${checkpoint.maxParallelism}; the job has ${graph.maxParallelism}`,
      {
        hint: `keyed state is split into max-parallelism key groups and cannot be regrouped: set pipeline.max-parallelism=${checkpoint.maxParallelism}`,
      },
    );
  }
  const uids = operatorUids(graph);
  const unmatched = [...statefulUids(checkpoint)].filter((uid) => !uids.has(uid));
  if (unmatched.length > 0 && !options.allowNonRestoredState) {
    const repair = kind === 'savepoint' ? ', repair the savepoint with `floe savepoint rename-uid`' : '';
    throw new SavepointError(
      'FLOE_SAVEPOINT_UNMATCHED_STATE',
      `${kind} ${path} has state for operator uid(s) ${unmatched.map((u) => `'${u}'`).join(', ')} that the job does not have (job uids: ${[...uids].join(', ')})`,
      { hint: `give those operators the same .uid(...) as before${repair}, or skip that state with --allow-non-restored-state` },
    );
  }
  return unmatched;
}

/** `checkpoint` without the state of `skip` (operators and the in-flight data of chains they head). */
export function withoutOperators(checkpoint: CompletedCheckpoint, skip: ReadonlySet<string>): CompletedCheckpoint {
  if (skip.size === 0) return checkpoint;
  const operators = Object.fromEntries(Object.entries(checkpoint.operators).filter(([uid]) => !skip.has(uid)));
  const channels =
    checkpoint.channelState && Object.fromEntries(Object.entries(checkpoint.channelState).filter(([, c]) => !skip.has(c.operatorUid)));
  return { ...checkpoint, operators, ...(channels ? { channelState: channels } : {}) };
}

/** What restored sources would do that the job does not say (read another file): each source checks its own state. */
function sourceWarnings(checkpoint: CompletedCheckpoint, graph: JobGraph): string[] {
  return graph.vertices
    .flatMap((v) => v.chain)
    .flatMap((t) => {
      const state = checkpoint.operators[t.uid!];
      return state && t.source?.restoreWarnings
        ? t.source.restoreWarnings(
            state.subtasks.map((s) => s?.operator ?? {}),
            t.uid!,
          )
        : [];
    });
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
  // a job's checkpoint directory: it holds chk-<n>, or (killed before its first one) what its run was restored from
  if (!existsSync(metadata))
    return !(statSync(dir).isDirectory() && readdirSync(dir).some((n) => /^chk-\d+$/.test(n) || n === RESTORED_FROM_FILE));
  return !isCheckpointMetadataFile(metadata);
}

/**
 * The savepoint or retained checkpoint `path` names, read and verified: a job's checkpoint directory
 * gives its newest usable checkpoint (damaged ones reported), as a restore takes it.
 */
export async function loadState(path: string, report?: (warning: RestoreWarning) => void): Promise<Savepoint | RetainedCheckpoint> {
  refuseCheckpointRoot(path);
  return isSavepointPath(path) ? Savepoint.load(path) : loadCheckpointAlongLine(savepointDirOf(path), report, new Set());
}

/**
 * A retained checkpoint of the job directory `path` names; if none is usable and its run was itself
 * restored (and killed before its first checkpoint completed), what that run was restored from,
 * followed back as far as it goes, with a warning naming what is used.
 */
async function loadCheckpointAlongLine(
  path: string,
  report: ((warning: RestoreWarning) => void) | undefined,
  seen: Set<string>,
): Promise<Savepoint | RetainedCheckpoint> {
  const jobDir = jobDirOf(path);
  const origin = seen.has(jobDir) ? null : readRestoreOrigin(jobDir);
  // damaged checkpoints are reported; a directory without any is not worth a warning of its own when the line goes on
  const damaged: RestoreWarning[] = [];
  try {
    const loaded = await RetainedCheckpoint.load(path, origin ? (w) => damaged.push(w) : report);
    for (const w of damaged) report?.(w);
    return loaded;
  } catch (error) {
    if (!origin || (error as { code?: string }).code !== 'FLOE_NO_USABLE_CHECKPOINT') throw error;
    if (checkpointDirs(jobDir).length > 0) for (const w of damaged) report?.(w);
    seen.add(jobDir);
    report?.({
      checkpoint: jobDir,
      reason: `no usable checkpoint of its own (its run ended before its first checkpoint completed); using the ${origin.kind} that run was restored from: ${origin.path}`,
    });
    if (origin.kind === 'savepoint') return Savepoint.load(origin.path);
    return loadCheckpointAlongLine(origin.path, report, seen);
  }
}

/**
 * Validates `path` (a savepoint, or a retained checkpoint) against the job before any task starts
 * and returns the restore point: both kinds are matched to the job's uids the same way.
 */
export async function loadRestorePoint(path: string, graph: JobGraph, options: RestoreOptions): Promise<RestorePoint> {
  const warnings: string[] = [];
  const state = await loadState(path, (w) => warnings.push(`cannot restore ${w.checkpoint}: ${w.reason}`));
  const nonRestored = matchToJob(state.kind, state.path, state.checkpoint, graph, options);
  const checkpoint = withoutOperators(state.checkpoint, new Set(nonRestored));
  warnings.push(...sourceWarnings(checkpoint, graph));
  const drained = state instanceof Savepoint && state.metadata.drained === true;
  return { kind: state.kind, path: state.path, checkpoint, nonRestored, drained, warnings };
}
