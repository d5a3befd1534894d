// Job operations that take a savepoint: trigger, stop-with-savepoint, cancel-with-savepoint (all-or-nothing).
import { rm } from 'node:fs/promises';
import type { JobMaster, JobResult } from '../coordinator/job-master.ts';
import { SavepointError } from '../errors.ts';
import { checkTargetDirectory, writeSavepoint } from './savepoint-writer.ts';

export interface StopOptions {
  /** Flink's --drain: sources end first and event-time timers fire before the savepoint */
  drain?: boolean;
}

function failed(master: JobMaster, cause: unknown): SavepointError {
  if (cause instanceof SavepointError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SavepointError('FLOE_SAVEPOINT_FAILED', `savepoint of job ${master.jobId} failed: ${message}`, {
    cause,
    hint: 'the job keeps running; fix the cause above and try again',
  });
}

/**
 * Takes a savepoint through the barrier protocol (kind savepoint, always aligned) and writes it under
 * `root`; resolves with its absolute path. The target is checked before any barrier is sent.
 */
export async function triggerSavepoint(master: JobMaster, root: string | undefined): Promise<string> {
  const dir = await checkTargetDirectory(root);
  if (master.status !== 'RUNNING') {
    throw new SavepointError('FLOE_JOB_NOT_RUNNING', `job ${master.jobId} is ${master.status}, not RUNNING: no savepoint can be taken`, {
      hint: 'savepoints are taken of running jobs; wait until it runs again',
    });
  }
  try {
    const checkpoint = await master.triggerCheckpoint({ kind: 'savepoint', alignment: 'aligned', targetDirectory: dir });
    return await writeSavepoint(checkpoint, dir, { jobId: master.jobId, jobName: master.jobName, storage: master.settings.storage });
  } catch (cause) {
    throw failed(master, cause);
  }
}

/**
 * Savepoint, then stop (`end: 'stop'`, the job ends FINISHED) or cancel (CANCELED). Periodic checkpoints
 * are held meanwhile, so nothing after the savepoint is committed by a sink. If the savepoint fails the
 * job is left running as it was, checkpoints resume, and the promise rejects with the cause.
 */
export async function endWithSavepoint(
  master: JobMaster,
  root: string | undefined,
  end: 'stop' | 'cancel',
  options: StopOptions = {},
): Promise<{ path: string; result: JobResult }> {
  if (options.drain) {
    throw new SavepointError('FLOE_STOP_DRAIN_UNSUPPORTED', 'stop --drain is not supported yet: floe has no event time, so there are no timers to fire', {
      hint: 'stop without --drain: the savepoint holds every record read so far and a restore continues from it',
    });
  }
  await checkTargetDirectory(root);
  master.holdCheckpoints(true);
  let path: string;
  try {
    path = await triggerSavepoint(master, root);
  } catch (cause) {
    master.holdCheckpoints(false);
    throw cause;
  }
  const result = await (end === 'stop' ? master.stop() : master.cancel());
  return { path, result };
}

/** Restore mode claim: the job owns the savepoint and deletes it once a checkpoint of its own completes. */
export function claimSavepoint(master: JobMaster, path: string): void {
  const onComplete = (checkpoint: { kind: string }) => {
    if (checkpoint.kind !== 'checkpoint') return;
    master.off('checkpoint-completed', onComplete);
    void rm(path, { recursive: true, force: true }).catch(() => {});
  };
  master.on('checkpoint-completed', onComplete);
}
