// Prints what a running job does: checkpoints, failures, restarts, warnings, the end.
import type { JobClient } from '../api/job-client.ts';
import type { TaskMetricsSample } from '../checkpoint/control-messages.ts';
import type { JobResult } from '../coordinator/job-master.ts';
import { MAX_WATERMARK, MIN_WATERMARK } from '../operators/event-time.ts';
import { FloeWarning, onFloeWarning } from '../warnings.ts';

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

/** `1 checkpoint`, `3 checkpoints` */
export const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** `job 'wordcount' (<id>)`; a job named job (from job.ts, the usual file name) is `job <id>`, not `job 'job' (<id>)` */
export function jobLabel(name: string, id: string): string {
  return name === 'job' ? `job ${id}` : `job '${name}' (${id})`;
}

/** The last line of a run: `job FINISHED in 1.20 s: 1 checkpoint completed, 0 failed, 0 restarts`. */
export function formatJobEnd(result: JobResult): string {
  const { status, durationMs, checkpoints, restarts } = result;
  return `job ${status} in ${(durationMs / 1000).toFixed(2)} s: ${count(checkpoints.completed, 'checkpoint')} completed, ${checkpoints.failed} failed, ${count(restarts, 'restart')}`;
}

/** An event time for people: ISO 8601 when it is a date, `end of input` for the maximum watermark. */
export function formatWatermark(ts: number): string {
  if (ts >= MAX_WATERMARK) return 'end of input';
  return Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : String(ts);
}

/**
 * The event-time part of a progress line, from the tasks' last metrics samples: the job's low
 * watermark (the minimum input watermark of the tasks that have one) and the late records dropped.
 * Empty for a job without event time, so its lines stay as they were.
 */
export function formatEventTime(samples: Iterable<TaskMetricsSample>): string {
  let low = Infinity;
  let dropped = 0;
  for (const s of samples) {
    const w = s.currentInputWatermark;
    if (typeof w === 'number' && w > MIN_WATERMARK && w < low) low = w;
    dropped += s.numLateRecordsDropped ?? 0;
  }
  const parts = [];
  if (low !== Infinity) parts.push(`watermark ${formatWatermark(low)}`);
  if (dropped > 0) parts.push(`${count(dropped, 'late record')} dropped`);
  return parts.length === 0 ? '' : `, ${parts.join(', ')}`;
}

/** `warning CODE: message` and `hint: ...`, as the CLI prints errors. */
export function formatWarning(warning: FloeWarning): string[] {
  return [`warning ${warning.code}: ${warning.message}`, `hint: ${warning.hint}`];
}

/** Operators with generated uids: their state cannot follow them once the job changes. */
export function missingUids(uids: string[]): FloeWarning {
  const n = uids.length;
  return new FloeWarning(
    'FLOE_UID_MISSING',
    `${count(n, 'operator')} ${n === 1 ? 'has' : 'have'} no .uid(...): ${uids.join(', ')} — their state cannot be matched safely once the job changes`,
    "give each operator and sink a stable id: .uid('count'), .sinkTo(sink).uid('sink')",
  );
}

/** Prints every floe warning (a FileSink writing beside another job's output, ...) until the returned function is called. */
export function printWarnings(write: (line: string) => void): () => void {
  return onFloeWarning((warning) => formatWarning(warning).forEach(write));
}

/** Prints the job's events as one line each; user errors keep their stack trace (they are the user's bug). */
export function attachReporter(client: JobClient, options: ReporterOptions = {}): void {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const job = jobLabel(client.jobName, client.jobId);
  const running = `${job} running${options.pid === undefined ? '' : `, pid ${options.pid}`}`;
  const restore = client.restoredFrom;
  const skipped = restore?.nonRestored.length ? ` (state of ${restore.nonRestored.join(', ')} not restored)` : '';
  client.on('running', ({ attempt, restoredFrom }) => {
    // one line per start, saying what it resumed from: a savepoint, or a checkpoint (-s/--from-checkpoint, or a restart)
    const fromRestorePoint = restore !== null && restoredFrom === restore.checkpoint.id;
    if (attempt === 0 && restoredFrom === null) write(running);
    else if (fromRestorePoint && restore.kind === 'savepoint')
      write(`${attempt === 0 ? running : `attempt ${attempt} running`}, restored from savepoint ${restore.path}${skipped}`);
    else if (fromRestorePoint)
      write(
        `${attempt === 0 ? running : `attempt ${attempt} running`}, restored from checkpoint ${restoredFrom} (${restore.path})${skipped}`,
      );
    else if (attempt === 0) write(`${running}, restored from checkpoint ${restoredFrom} (retained checkpoint)`);
    else
      write(
        `attempt ${attempt} running, ${restoredFrom === null ? 'started from the beginning (no completed checkpoint)' : `restored from checkpoint ${restoredFrom}`}`,
      );
  });
  if (options.checkpoints !== false) {
    client.on('checkpoint-completed', (cp, stats) => {
      const align = stats ? `, alignment max ${ms(stats.maxAlignmentMs)} ms` : '';
      const eventTime = formatEventTime(Object.values(client.master.actor.getSnapshot().context.metrics));
      write(`${cp.kind} ${cp.id} completed in ${ms(cp.durationMs)} ms${align}, state ${formatBytes(cp.stateSize)}${eventTime}`);
    });
  }
  client.on('checkpoint-failed', (id, reason) => {
    // suspended (a restart), subsumed (a newer one completed) and discarded (the job ended first) are no failures
    if (!/^(job suspended|subsumed|discarded)/.test(reason)) write(`checkpoint ${id} failed: ${reason}`);
  });
  client.on('task-failed', ({ task, error, attempt }) => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    const code = (error as { code?: unknown } | undefined)?.code;
    write(`task ${task} failed in attempt ${attempt}: ${typeof code === 'string' && code.startsWith('FLOE_') ? `${code} ` : ''}${detail}`);
  });
  // the next line says what happened instead: restored from an older checkpoint, or no usable one (an error listing what was tried)
  client.on('restore-fallback', ({ checkpoint, reason }) => write(`warning: cannot restore ${checkpoint}: ${reason}`));
  client.on('restarting', ({ delayMs, attempt }) => write(`restarting in ${delayMs} ms (attempt ${attempt})`));
}
