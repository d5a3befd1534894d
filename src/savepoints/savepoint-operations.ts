// Job operations that take a savepoint: trigger, stop-with-savepoint, cancel-with-savepoint (all-or-nothing).
import { rm } from 'node:fs/promises';
import { phaseOf } from '../actors/task-machine.ts';
import type { TaskPhase } from '../checkpoint/control-messages.ts';
import type { JobMaster, JobResult } from '../coordinator/job-master.ts';
import type { JobExecution } from '../coordinator/execution-graph.ts';
import { SavepointError } from '../errors.ts';
import { checkTargetDirectory } from './savepoint-writer.ts';

export interface StopOptions {
  /**
   * Flink's --drain: sources end their input first, every operator flushes (floe has no event time
   * yet, so "timers fire" is end of input), then the final savepoint is taken, sinks commit and the
   * job ends FINISHED. The savepoint is marked drained: it is an end state, not a place to resume.
   */
  drain?: boolean;
}

/** The code of the first error in `error`'s cause chain that has one of `codes`. */
function codeIn(error: unknown, codes: readonly string[]): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && codes.includes(code)) return code;
  }
  return undefined;
}

/** What is true of the job after its savepoint failed, read when the failure is reported: running on, or ended. */
export function savepointFailureHint(status: string, cause: unknown): string {
  const code = codeIn(cause, ['FLOE_CHECKPOINT_DISCARDED', 'FLOE_CHECKPOINT_TASK_FINISHED']);
  // the checkpoint was discarded because the job ended; its status may not say so yet
  if (code === 'FLOE_CHECKPOINT_DISCARDED' || (status !== 'RUNNING' && status !== 'RESTARTING')) {
    const now = status === 'RUNNING' ? 'ended' : `is ${status}`;
    return `the job ${now}, no savepoint was taken; to run it again, start it anew (floe run), or from its latest retained checkpoint or savepoint with -s`;
  }
  if (code === 'FLOE_CHECKPOINT_TASK_FINISHED') {
    return "the job runs on; a task finished without a known final state (without checkpointing only a source's task sends one): run it with --checkpoint-interval to keep finished tasks' state in checkpoints";
  }
  if (status === 'RESTARTING') return 'the job is restarting after a failure (floe list shows its status); try again once it is RUNNING';
  return 'the job keeps running; fix the cause above and try again';
}

function failed(master: JobMaster, cause: unknown): SavepointError {
  if (cause instanceof SavepointError) {
    // the writer cannot know what the job does meanwhile: what is true of it is said here
    if (cause.code !== 'FLOE_SAVEPOINT_WRITE_FAILED') return cause;
    return new SavepointError(cause.code, cause.message, {
      cause: cause.cause,
      hint: `${cause.hint}; ${savepointFailureHint(master.status, cause)}`,
    });
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SavepointError('FLOE_SAVEPOINT_FAILED', `savepoint of job ${master.jobId} failed: ${message}`, {
    cause,
    hint: savepointFailureHint(master.status, cause),
  });
}

/**
 * Takes a savepoint through the barrier protocol (kind savepoint, always aligned) and writes it under
 * `root`; resolves with its absolute path. The target is checked before any barrier is sent.
 */
export async function triggerSavepoint(master: JobMaster, root: string | undefined, options: { drained?: boolean } = {}): Promise<string> {
  const dir = await checkTargetDirectory(root);
  if (master.status !== 'RUNNING') {
    throw new SavepointError('FLOE_JOB_NOT_RUNNING', `job ${master.jobId} is ${master.status}, not RUNNING: no savepoint can be taken`, {
      hint: 'savepoints are taken of running jobs; wait until it runs again',
    });
  }
  try {
    // the persist step of the savepoint's checkpoint writes the directory (see persistCheckpoint): its path is the checkpoint's external pointer
    const checkpoint = await master.triggerCheckpoint({
      kind: 'savepoint',
      alignment: 'aligned',
      targetDirectory: dir,
      drained: options.drained === true,
    });
    return checkpoint.externalPointer!;
  } catch (cause) {
    // a savepoint that could not be written aborted with the write failure as its cause
    throw failed(master, savepointErrorIn(cause) ?? cause);
  }
}

/** The SavepointError in an error's cause chain, if any. */
function savepointErrorIn(error: unknown): SavepointError | undefined {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof SavepointError) return e;
  return undefined;
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
  if (options.drain && end === 'stop') return drainWithSavepoint(master, root);
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

function notRunning(master: JobMaster): SavepointError {
  return new SavepointError(
    'FLOE_JOB_NOT_RUNNING',
    `job ${master.jobId} is ${master.status}, not RUNNING: it cannot be stopped with a savepoint`,
    {
      hint: 'wait until every task of the job runs (floe list shows its status)',
    },
  );
}

/** Resolves once `ready()` holds, checked after each of `events`; rejects when the job leaves RUNNING or a task fails. */
function waitFor(
  master: JobMaster,
  events: Array<'end-of-input' | 'checkpoint-completed' | 'checkpoint-failed'>,
  ready: () => boolean,
  what: string,
): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timeoutMs = master.settings.checkpoint.timeoutMs;
    const done = (error?: Error) => {
      clearTimeout(timer);
      clearInterval(poll);
      for (const e of events) master.off(e, check);
      master.off('status', onStatus);
      master.off('task-failed', onFailure);
      if (error) reject(error);
      else resolve();
    };
    const check = () => void (ready() && done());
    const onStatus = () => void (master.status !== 'RUNNING' && done(notRunning(master)));
    const onFailure = ({ task, error }: { task: string; error: unknown }) =>
      done(
        new SavepointError(
          'FLOE_SAVEPOINT_FAILED',
          `task ${task} failed while the job was draining: ${error instanceof Error ? error.message : String(error)}`,
          {
            cause: error,
            hint: 'the job restarts from its latest checkpoint and keeps running; fix the cause and stop it again',
          },
        ),
      );
    const timer = setTimeout(
      () =>
        done(
          new SavepointError('FLOE_SAVEPOINT_FAILED', `the job did not ${what} within ${timeoutMs} ms`, {
            hint: 'raise execution.checkpointing.timeout, or look for a task that does not end its input',
          }),
        ),
      timeoutMs,
    );
    for (const e of events) master.on(e, check);
    // the states of tasks in TaskManagers arrive in their own frames, maybe after the event: looked at again meanwhile
    const poll = setInterval(check, 50);
    master.on('status', onStatus);
    master.on('task-failed', onFailure);
  });
}

/** Every subtask of the attempt, in this process or in a TaskManager, is in one of `phases` (none deployed yet: not). */
function allIn(execution: JobExecution, phases: readonly TaskPhase[]): boolean {
  const views = execution.subtaskViews();
  return views.length === execution.subtaskKeys.length && views.every((t) => phases.includes(phaseOf(t.value)));
}

/**
 * stop --drain, in Flink's order: hold periodic checkpoints and let one in flight settle (it must not
 * complete after the sources ended and finish tasks early), end every source's input, wait until every
 * task has flushed its end of input, then take the savepoint at the finishing tasks. Its completion
 * commits the sinks and lets every task finish, so the job ends FINISHED on its own.
 * Until the sources are told to end, a failure leaves the job running as it was. After that there is
 * no way back: if the savepoint then fails, checkpoints are released, the final checkpoint commits
 * everything drained and the job finishes without a savepoint; the command still fails with the cause.
 */
async function drainWithSavepoint(master: JobMaster, root: string | undefined): Promise<{ path: string; result: JobResult }> {
  const dir = await checkTargetDirectory(root);
  const execution = master.execution;
  if (master.status !== 'RUNNING' || !execution || !allIn(execution, ['running'])) throw notRunning(master);
  if (!master.settings.checkpoint.enabled) {
    throw new SavepointError(
      'FLOE_STOP_DRAIN_NEEDS_CHECKPOINTING',
      `job ${master.jobId} runs without checkpointing: a drained job would finish before its savepoint could be taken`,
      {
        hint: 'stop it without --drain, or run it with --checkpoint-interval so sinks commit through checkpoints',
      },
    );
  }
  master.holdCheckpoints(true);
  try {
    await waitFor(
      master,
      ['checkpoint-completed', 'checkpoint-failed'],
      () => master.pendingCheckpoints === 0,
      'settle its checkpoint in flight',
    );
    if (master.execution !== execution) throw notRunning(master);
  } catch (cause) {
    master.holdCheckpoints(false);
    throw failed(master, cause);
  }
  execution.drain();
  try {
    await waitFor(master, ['end-of-input'], () => allEnded(execution), 'end its input');
    const path = await triggerSavepoint(master, dir, { drained: true });
    return { path, result: await master.result };
  } catch (cause) {
    // the sources have ended: let the final checkpoint commit what was drained so nothing is lost
    master.holdCheckpoints(false);
    const error = failed(master, cause);
    throw new SavepointError(error.code, error.message, {
      cause,
      hint: 'the sources had already ended: the job finishes with everything read so far committed, but without this savepoint',
    });
  }
}

function allEnded(execution: JobExecution): boolean {
  return allIn(execution, ['finishing', 'finished']);
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
