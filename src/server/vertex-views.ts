// The JSON shapes of one job vertex over REST, after Flink's: subtasks with busy/backpressured/idle time, backpressure, watermarks.
import { availableParallelism, freemem, totalmem } from 'node:os';
import type { JobClient } from '../api/job-client.ts';
import type { SubtaskView } from '../coordinator/execution-graph.ts';
import { subtaskName, type JobVertex } from '../graph/job-graph.ts';
import type { JobRecord } from './job-tracker.ts';
import { executionState, metricsOf, statePath, tasksOf, vertexId } from './job-views.ts';

/** the in-process task manager every subtask runs in */
export const LOCAL_TASK_MANAGER = 'floe-local';

/** a sample older than this means the task stopped stepping: it waits for input (idle) or for credit (backpressured) */
const STALE_SAMPLE_MS = 2500;

/** A subtask's ms per second busy, backpressured and idle (Flink's task metrics of the same names). */
export function timeMetrics(client: JobClient, task: SubtaskView): { busy: number; backPressured: number; idle: number } {
  const m = metricsOf(client, task);
  const running = executionState(task.value) === 'RUNNING';
  if (!running) return { busy: 0, backPressured: 0, idle: 1000 };
  if (!m || Date.now() - m.sampledAt > STALE_SAMPLE_MS)
    return task.backPressured ? { busy: 0, backPressured: 1000, idle: 0 } : { busy: 0, backPressured: 0, idle: 1000 };
  return { busy: m.busyTimeMsPerSecond, backPressured: m.backPressuredTimeMsPerSecond, idle: m.idleTimeMsPerSecond };
}

/** Flink's thresholds: ratio <= 0.10 ok, <= 0.5 low, else high */
export function backpressureLevel(ratio: number): 'ok' | 'low' | 'high' {
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

/** GET /jobs/:id/vertices/:vid (JobVertexDetailsInfo) */
export function vertexDetails(client: JobClient, record: JobRecord, v: JobVertex) {
  const now = Date.now();
  const tasks = tasksOf(client, v);
  const start = client.master.startedAt;
  const end = record.endTime;
  return {
    id: vertexId(client.jobId, v),
    name: v.name,
    parallelism: v.parallelism,
    maxParallelism: client.master.graph.maxParallelism,
    now,
    // floe: the chained operators, by uid
    operators: v.chain.map((t) => ({ uid: t.uid!, name: t.name })),
    subtasks: tasks.map((task) => {
      const m = metricsOf(client, task);
      const t = timeMetrics(client, task);
      return {
        subtask: task.id.subtaskIndex,
        status: executionState(task.value),
        attempt: task.attempt,
        endpoint: task.taskManager ?? LOCAL_TASK_MANAGER,
        'start-time': start,
        'end-time': end,
        duration: (end === -1 ? now : end) - start,
        metrics: {
          'read-bytes': 0,
          'read-bytes-complete': true,
          'write-bytes': 0,
          'write-bytes-complete': true,
          'read-records': m?.recordsIn ?? 0,
          'read-records-complete': true,
          'write-records': m?.recordsOut ?? 0,
          'write-records-complete': true,
          'accumulated-backpressured-time': t.backPressured,
          'accumulated-idle-time': t.idle,
          'accumulated-busy-time': t.busy,
        },
        'taskmanager-id': task.taskManager ?? LOCAL_TASK_MANAGER,
        'status-duration': {},
        // floe: the task actor's live state, and Flink's three per-second times
        name: subtaskName(v, task.id.subtaskIndex),
        'actor-state': statePath(task.value),
        busyTimeMsPerSecond: t.busy,
        backPressuredTimeMsPerSecond: t.backPressured,
        idleTimeMsPerSecond: t.idle,
      };
    }),
  };
}

/** GET /jobs/:id/vertices/:vid/backpressure (JobVertexBackPressureInfo, from the task time metrics as Flink 1.13+) */
export function backpressureView(client: JobClient, v: JobVertex) {
  const subtasks = tasksOf(client, v).map((task) => {
    const t = timeMetrics(client, task);
    const ratio = t.backPressured / 1000;
    return {
      subtask: task.id.subtaskIndex,
      'attempt-number': task.attempt,
      backpressureLevel: backpressureLevel(ratio),
      ratio,
      idleRatio: t.idle / 1000,
      busyRatio: t.busy / 1000,
    };
  });
  const worst = subtasks.reduce((m, s) => Math.max(m, s.ratio), 0);
  return {
    status: 'ok',
    backpressureLevel: backpressureLevel(worst),
    'end-timestamp': Date.now(),
    subtasks,
  };
}

/** the subtask metrics floe can aggregate, by Flink's metric names */
const SUBTASK_METRICS: Record<string, (client: JobClient, task: SubtaskView) => number> = {
  busyTimeMsPerSecond: (c, t) => timeMetrics(c, t).busy,
  backPressuredTimeMsPerSecond: (c, t) => timeMetrics(c, t).backPressured,
  idleTimeMsPerSecond: (c, t) => timeMetrics(c, t).idle,
  numRecordsIn: (c, t) => metricsOf(c, t)?.recordsIn ?? 0,
  numRecordsOut: (c, t) => metricsOf(c, t)?.recordsOut ?? 0,
};

/**
 * GET /jobs/:id/vertices/:vid/subtasks/metrics[?get=a,b]: Flink's aggregated subtask metrics (what its
 * dashboard colours the graph by: the max over subtasks). Without `get`, the names it knows.
 */
export function subtaskMetricsView(client: JobClient, v: JobVertex, get: string | undefined) {
  if (!get) return Object.keys(SUBTASK_METRICS).map((id) => ({ id }));
  const tasks = tasksOf(client, v);
  return get
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n in SUBTASK_METRICS)
    .map((id) => {
      const xs = tasks.map((t) => SUBTASK_METRICS[id]!(client, t));
      const sum = xs.reduce((a, b) => a + b, 0);
      return { id, min: xs.length ? Math.min(...xs) : 0, max: xs.length ? Math.max(...xs) : 0, avg: xs.length ? sum / xs.length : 0, sum };
    });
}

/**
 * GET /jobs/:id/vertices/:vid/watermarks: Flink's metric list, per subtask `<index>.currentInputWatermark`
 * (and floe's `<index>.currentOutputWatermark`), values as strings in ms.
 */
export function watermarksView(client: JobClient, v: JobVertex): Array<{ id: string; value: string }> {
  const tasks = client.master.execution?.tasks.filter((t) => t.id.vertexId === v.id) ?? [];
  return tasks.flatMap((t) => {
    const { input, output } = t.watermarks;
    const i = t.id.subtaskIndex;
    return [
      ...(input === null ? [] : [{ id: `${i}.currentInputWatermark`, value: String(input) }]),
      { id: `${i}.currentOutputWatermark`, value: String(output) },
    ];
  });
}

/** GET /taskmanagers: floe runs every subtask in this process, one task manager */
export function taskManagersView(clients: JobClient[]) {
  const running = clients.filter((c) => !['FINISHED', 'FAILED', 'CANCELED'].includes(c.getJobStatus()));
  const slots = running.reduce((n, c) => n + c.master.graph.vertices.reduce((m, v) => Math.max(m, v.parallelism), 0), 0);
  return {
    taskmanagers: [
      {
        id: LOCAL_TASK_MANAGER,
        path: 'local',
        dataPort: -1,
        jmxPort: -1,
        // in-process: it is always there (Flink gives the last heartbeat's time)
        timeSinceLastHeartbeat: Date.now(),
        slotsNumber: slots,
        freeSlots: 0,
        totalResource: { cpuCores: 0, taskHeapMemory: 0, taskOffHeapMemory: 0, managedMemory: 0, networkMemory: 0, extendedResources: {} },
        freeResource: { cpuCores: 0, taskHeapMemory: 0, taskOffHeapMemory: 0, managedMemory: 0, networkMemory: 0, extendedResources: {} },
        hardware: { cpuCores: availableParallelism(), physicalMemory: totalmem(), freeMemory: freemem(), managedMemory: 0 },
        memoryConfiguration: {},
      },
    ],
  };
}
