// The JSON shapes of jobs over REST, after Flink's: overviews, job details, plan, status, config, exceptions, result.
import { createHash } from 'node:crypto';
import type { JobClient } from '../api/job-client.ts';
import type { TaskMetricsSample } from '../checkpoint/control-messages.ts';
import { subtaskKey } from '../checkpoint/types.ts';
import type { SubtaskView } from '../coordinator/execution-graph.ts';
import type { JobVertex } from '../graph/job-graph.ts';
import type { JobRecord } from './job-tracker.ts';

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);
const JOB_STATUSES = [
  'INITIALIZING',
  'CREATED',
  'RUNNING',
  'FAILING',
  'FAILED',
  'CANCELLING',
  'CANCELED',
  'FINISHED',
  'RESTARTING',
  'SUSPENDED',
  'RECONCILING',
];

/** Flink's ExecutionState values, in the order its dashboard lists them. */
export const EXECUTION_STATES = [
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
  'RECONCILING',
  'INITIALIZING',
] as const;
export type ExecutionState = (typeof EXECUTION_STATES)[number];

/** A task actor's state value as Flink's ExecutionState: restoring is INITIALIZING, finishing still RUNNING. */
export function executionState(value: unknown): ExecutionState {
  const top = typeof value === 'string' ? value : Object.keys((value ?? {}) as object)[0];
  switch (top) {
    case 'created':
      return 'CREATED';
    case 'deploying':
      return 'DEPLOYING';
    case 'restoring':
      return 'INITIALIZING';
    case 'running':
    case 'finishing':
      return 'RUNNING';
    case 'finished':
      return 'FINISHED';
    case 'canceling':
      return 'CANCELING';
    case 'canceled':
      return 'CANCELED';
    case 'failed':
      return 'FAILED';
    default:
      return 'CREATED';
  }
}

/** `running.processing`: an xstate state value as one dotted path (what the dashboard shows per subtask) */
export function statePath(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, inner] = Object.entries((value ?? {}) as Record<string, unknown>)[0] ?? ['?', ''];
  const rest = statePath(inner);
  return rest ? `${key}.${rest}` : key;
}

/** Flink's vertex ids are 32 hex digits: a stable hash of the job and the vertex */
export function vertexId(jobId: string, vertex: Pick<JobVertex, 'id'>): string {
  return createHash('md5').update(`${jobId}/${vertex.id}`).digest('hex');
}

export function findVertex(client: JobClient, vid: string): JobVertex | undefined {
  return client.master.graph.vertices.find((v) => vertexId(client.jobId, v) === vid || v.id === vid);
}

/** The vertex's subtasks of the current attempt, in this process or relayed from their TaskManagers. */
export function tasksOf(client: JobClient, vertex: JobVertex): SubtaskView[] {
  return client.master.execution?.subtaskViews().filter((t) => t.id.vertexId === vertex.id) ?? [];
}

export function metricsOf(client: JobClient, task: Pick<SubtaskView, 'id'>): TaskMetricsSample | undefined {
  return client.master.actor.getSnapshot().context.metrics[subtaskKey(task.id)];
}

const zeroCounts = (): Record<ExecutionState, number> =>
  Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0])) as Record<ExecutionState, number>;

function vertexState(client: JobClient, vertex: JobVertex): { status: ExecutionState; tasks: Record<ExecutionState, number> } {
  const tasks = zeroCounts();
  const live = tasksOf(client, vertex);
  for (const t of live) tasks[executionState(t.value)]++;
  if (live.length === 0) {
    // no attempt deployed (before the first, between restarts, after the end): what the job's status says
    const job = client.getJobStatus();
    tasks[job === 'FINISHED' ? 'FINISHED' : job === 'CANCELED' ? 'CANCELED' : job === 'FAILED' ? 'FAILED' : 'CREATED'] = vertex.parallelism;
  }
  // the vertex's state is its least advanced or worst subtask's, as Flink aggregates it
  const order: ExecutionState[] = [
    'FAILED',
    'CANCELING',
    'CANCELED',
    'CREATED',
    'SCHEDULED',
    'DEPLOYING',
    'INITIALIZING',
    'RECONCILING',
    'RUNNING',
    'FINISHED',
  ];
  return { status: order.find((s) => tasks[s] > 0) ?? 'CREATED', tasks };
}

function jobTimes(client: JobClient, record: JobRecord) {
  const start = client.master.startedAt;
  return { 'start-time': start, 'end-time': record.endTime, duration: (record.endTime === -1 ? Date.now() : record.endTime) - start };
}

function vertexMetrics(client: JobClient, vertex: JobVertex) {
  let recordsIn = 0;
  let recordsOut = 0;
  let busy = 0;
  let backpressured = 0;
  let idle = 0;
  for (const t of tasksOf(client, vertex)) {
    const m = metricsOf(client, t);
    recordsIn += m?.recordsIn ?? 0;
    recordsOut += m?.recordsOut ?? 0;
    busy += m?.busyTimeMsPerSecond ?? 0;
    backpressured += m?.backPressuredTimeMsPerSecond ?? 0;
    idle += m?.idleTimeMsPerSecond ?? 0;
  }
  return {
    'read-bytes': 0,
    'read-bytes-complete': true,
    'write-bytes': 0,
    'write-bytes-complete': true,
    'read-records': recordsIn,
    'read-records-complete': true,
    'write-records': recordsOut,
    'write-records-complete': true,
    // floe keeps the latest second, not an accumulated total: summed over subtasks, ms per second
    'accumulated-backpressured-time': backpressured,
    'accumulated-idle-time': idle,
    'accumulated-busy-time': busy,
  };
}

/** GET /jobs/overview: one job's row */
export function jobOverview(client: JobClient, record: JobRecord) {
  const tasks = zeroCounts();
  for (const v of client.master.graph.vertices)
    for (const [s, n] of Object.entries(vertexState(client, v).tasks)) tasks[s as ExecutionState] += n;
  return {
    jid: client.jobId,
    name: client.jobName,
    state: client.getJobStatus(),
    ...jobTimes(client, record),
    'last-modification': record.lastModification,
    tasks: {
      total: Object.values(tasks).reduce((a, b) => a + b, 0),
      ...Object.fromEntries(Object.entries(tasks).map(([s, n]) => [s.toLowerCase(), n])),
    },
  };
}

/** GET /jobs: ids and states only */
export function jobIdAndStatus(client: JobClient) {
  return { id: client.jobId, status: client.getJobStatus() };
}

/** GET /jobs/:id/plan's `plan` */
export function jobPlan(client: JobClient) {
  return {
    jid: client.jobId,
    name: client.jobName,
    type: 'STREAMING',
    nodes: client.master.graph.vertices.map((v) => ({
      id: vertexId(client.jobId, v),
      parallelism: v.parallelism,
      operator: '',
      operator_strategy: '',
      description: v.name,
      // floe: the chained operators' uids, what a savepoint maps state by
      operators: v.chain.map((t) => ({ uid: t.uid!, name: t.name })),
      inputs: v.inputs.map((e, num) => ({
        num,
        id: vertexId(client.jobId, e.source),
        ship_strategy: e.partitioning.type.toUpperCase(),
        exchange: 'pipelined_bounded',
      })),
      optimizer_properties: {},
    })),
  };
}

/** GET /jobs/:id */
export function jobDetails(client: JobClient, record: JobRecord) {
  const status = client.getJobStatus();
  const statusCounts = zeroCounts();
  const vertices = client.master.graph.vertices.map((v) => {
    const { status: vs, tasks } = vertexState(client, v);
    for (const [s, n] of Object.entries(tasks)) statusCounts[s as ExecutionState] += n;
    return {
      id: vertexId(client.jobId, v),
      name: v.name,
      maxParallelism: client.master.graph.maxParallelism,
      parallelism: v.parallelism,
      status: vs,
      ...jobTimes(client, record),
      tasks,
      metrics: vertexMetrics(client, v),
    };
  });
  return {
    jid: client.jobId,
    name: client.jobName,
    isStoppable: !TERMINAL.has(status),
    state: status,
    'job-type': 'STREAMING',
    ...jobTimes(client, record),
    maxParallelism: client.master.graph.maxParallelism,
    now: Date.now(),
    // every JobStatus, 0 for those the job never entered (as Flink)
    timestamps: { ...Object.fromEntries(JOB_STATUSES.map((st) => [st, 0])), ...record.timestamps },
    vertices,
    'status-counts': statusCounts,
    plan: jobPlan(client),
    // floe: the savepoint or checkpoint the job started from
    'restored-from': client.restoredFrom?.path ?? null,
  };
}

/** GET /jobs/:id/config */
export function jobConfigView(client: JobClient) {
  const s = client.master.settings;
  return {
    jid: client.jobId,
    name: client.jobName,
    'execution-config': {
      'execution-mode': 'PIPELINED',
      'restart-strategy': s.restartStrategy.description,
      'job-parallelism': Math.max(...client.master.graph.vertices.map((v) => v.parallelism)),
      'object-reuse-mode': false,
      'user-config': {
        'state.backend.type': s.backend.name,
        'state.checkpoint-storage': s.storage.name,
        'pipeline.max-parallelism': String(client.master.graph.maxParallelism),
      },
    },
  };
}

/** GET /jobs/:id/exceptions (JobExceptionsInfoWithHistory), newest first */
export function exceptionsView(record: JobRecord, maxExceptions = record.exceptions.length) {
  const entries = record.exceptions.slice(0, maxExceptions);
  const root = entries[0];
  return {
    'root-exception': root?.stacktrace ?? null,
    timestamp: root?.timestamp ?? null,
    'all-exceptions': [],
    truncated: record.exceptionsTruncated || entries.length < record.exceptions.length,
    exceptionHistory: {
      entries: entries.map((e) => ({
        exceptionName: e.exceptionName,
        stacktrace: e.stacktrace,
        timestamp: e.timestamp,
        taskName: e.taskName,
        endpoint: null,
        taskManagerId: null,
        failureLabels: e.code ? { code: e.code } : {},
        concurrentExceptions: [],
      })),
      truncated: record.exceptionsTruncated || entries.length < record.exceptions.length,
    },
  };
}

/** GET /jobs/:id/execution-result */
export async function executionResultView(client: JobClient, record: JobRecord) {
  if (record.endTime === -1) return { status: { id: 'IN_PROGRESS' } };
  const result = await client.getJobExecutionResult().then(
    (r) => ({ r, error: undefined as unknown }),
    (error: unknown) => ({ r: (error as { result?: { durationMs: number } }).result, error }),
  );
  const status = client.getJobStatus();
  const failure = result.error as { name?: string; message?: string; stack?: string; code?: string } | undefined;
  return {
    status: { id: 'COMPLETED' },
    'job-execution-result': {
      id: client.jobId,
      'application-status': status === 'CANCELED' ? 'CANCELED' : status === 'FAILED' ? 'FAILED' : 'SUCCEEDED',
      'accumulator-results': {},
      'net-runtime': result.r?.durationMs ?? record.endTime - client.master.startedAt,
      ...(failure
        ? {
            'failure-cause': {
              class: failure.name ?? 'Error',
              code: failure.code ?? 'FLOE_JOB_FAILED',
              'stack-trace': failure.stack ?? String(failure.message),
            },
          }
        : {}),
    },
  };
}
