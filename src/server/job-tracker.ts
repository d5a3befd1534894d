// What the REST API remembers of a job beyond its client: status timestamps, end time, failures, savepoint paths.
import type { JobClient } from '../api/job-client.ts';

/** Flink's web.exception-history-size default */
export const EXCEPTION_HISTORY_SIZE = 16;

export interface ExceptionEntry {
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  taskName: string | null;
  /** floe: the stable FLOE_... code of the cause, when it has one */
  code: string | null;
  attempt: number;
}

export interface JobRecord {
  /** JobStatus -> first time the job entered it (Flink's `timestamps`) */
  timestamps: Record<string, number>;
  /** -1 while the job runs */
  endTime: number;
  lastModification: number;
  /** newest first, at most EXCEPTION_HISTORY_SIZE */
  exceptions: ExceptionEntry[];
  exceptionsTruncated: boolean;
  /** checkpoint id -> where it was written (a savepoint's directory) */
  externalPaths: Map<number, string>;
}

function describe(error: unknown): { name: string; trace: string; code: string | null } {
  const e = error as { name?: string; message?: string; stack?: string; code?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return { name, trace: typeof e?.stack === 'string' ? e.stack : `${name}: ${message}`, code: typeof e?.code === 'string' ? e.code : null };
}

/** Starts recording `client`'s life; call before the job can fail (right after submitting). */
export function trackJob(client: JobClient): JobRecord {
  const start = client.master.startedAt;
  const record: JobRecord = {
    timestamps: { CREATED: start, [client.getJobStatus()]: start },
    endTime: -1,
    lastModification: start,
    exceptions: [],
    exceptionsTruncated: false,
    externalPaths: new Map(),
  };
  const touch = () => (record.lastModification = Date.now());
  client.on('status', (status) => {
    record.timestamps[status] ??= Date.now();
    touch();
  });
  // a restart can pass through RESTARTING within one status notification: the restart event marks it too
  client.on('restarting', () => {
    record.timestamps.RESTARTING ??= Date.now();
    touch();
  });
  client.on('task-failed', ({ task, error, attempt }) => {
    const { name, trace, code } = describe(error);
    record.exceptions.unshift({ exceptionName: name, stacktrace: trace, timestamp: Date.now(), taskName: task, code, attempt });
    if (record.exceptions.length > EXCEPTION_HISTORY_SIZE) {
      record.exceptions.length = EXCEPTION_HISTORY_SIZE;
      record.exceptionsTruncated = true;
    }
    touch();
  });
  client.on('checkpoint-completed', (checkpoint) => {
    if (checkpoint.externalPointer) record.externalPaths.set(checkpoint.id, checkpoint.externalPointer);
    touch();
  });
  const end = () => {
    record.endTime = Date.now();
    touch();
  };
  client.getJobExecutionResult().then(end, (error: unknown) => {
    end();
    // a job failing for good without a task failure (no restore point, too many checkpoint failures): its cause is the root exception
    const cause = (error as { cause?: unknown } | null)?.cause ?? error;
    if (record.exceptions.length === 0 || record.exceptions[0]!.attempt !== -1) {
      const { name, trace, code } = describe(cause);
      if (!record.exceptions.some((e) => e.stacktrace === trace))
        record.exceptions.unshift({ exceptionName: name, stacktrace: trace, timestamp: record.endTime, taskName: null, code, attempt: -1 });
    }
  });
  return record;
}
