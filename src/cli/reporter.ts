// Prints what a running job does: checkpoints, failures, restarts, the end.
import type { JobClient } from '../api/job-client.ts';

export interface ReporterOptions {
  /** print every completed checkpoint (default) or only failures and lifecycle */
  checkpoints?: boolean;
  write?: (line: string) => void;
  /** the process id to name in the running line (`floe run`: the pid to `kill`; npx's pid is npm's) */
  pid?: number;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));

/** Prints the job's events as one line each; user errors keep their stack trace (they are the user's bug). */
export function attachReporter(client: JobClient, options: ReporterOptions = {}): void {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const running = `job '${client.jobName}' (${client.jobId}) running${options.pid === undefined ? '' : `, pid ${options.pid}`}`;
  client.on('running', ({ attempt, restoredFrom }) => {
    if (attempt === 0 && restoredFrom === null) write(running);
    else if (attempt === 0 && client.restoredFrom?.kind === 'savepoint') write(`${running}, restored from savepoint ${client.restoredFrom.path}`);
    // a new run started with -s/--from-checkpoint: say which job this is and what it resumed from, not "attempt 0"
    else if (attempt === 0) write(`${running}, restored from checkpoint ${restoredFrom} (${client.restoredFrom?.path ?? 'retained checkpoint'})`);
    else write(`attempt ${attempt} running, ${restoredFrom === null ? 'started from the beginning (no completed checkpoint)' : `restored from checkpoint ${restoredFrom}`}`);
  });
  if (options.checkpoints !== false) {
    client.on('checkpoint-completed', (cp, stats) => {
      const align = stats ? `, alignment max ${ms(stats.maxAlignmentMs)} ms` : '';
      write(`${cp.kind} ${cp.id} completed in ${ms(cp.durationMs)} ms${align}, state ${formatBytes(cp.stateSize)}`);
    });
  }
  client.on('checkpoint-failed', (id, reason) => {
    // suspended (a restart), subsumed (a newer one completed) and discarded (the job ended first) are no failures
    if (!/^(job suspended|subsumed|discarded)/.test(reason)) write(`checkpoint ${id} failed: ${reason}`);
  });
  client.on('task-failed', ({ task, error, attempt }) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    write(`task ${task} failed in attempt ${attempt}: ${detail}`);
  });
  // the next line says what happened instead: restored from an older checkpoint, or no usable one (an error listing what was tried)
  client.on('restore-fallback', ({ checkpoint, reason }) => write(`warning: cannot restore ${checkpoint}: ${reason}`));
  client.on('restarting', ({ delayMs, attempt }) => write(`restarting in ${delayMs} ms (attempt ${attempt})`));
}
