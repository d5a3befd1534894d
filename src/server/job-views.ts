// The JSON shapes of the REST API, after Flink's: job overview and details, checkpoint statistics and config.
import type { JobClient } from '../api/job-client.ts';
import type { CheckpointStats } from '../checkpoint/completed-checkpoint.ts';
import { subtaskName, type JobGraph } from '../graph/job-graph.ts';

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** end time of a job that ended, -1 while it runs (as Flink) */
const endTimes = new WeakMap<JobClient, number>();
export function trackEnd(client: JobClient): void {
  const mark = () => endTimes.set(client, Date.now());
  client.getJobExecutionResult().then(mark, mark);
}

export function jobOverview(client: JobClient) {
  const start = client.master.startedAt;
  const end = endTimes.get(client) ?? -1;
  return {
    jid: client.jobId,
    id: client.jobId,
    name: client.jobName,
    state: client.getJobStatus(),
    status: client.getJobStatus(),
    'start-time': start,
    'end-time': end,
    duration: (end === -1 ? Date.now() : end) - start,
  };
}

/**
 * Flink's /jobs/:id/vertices/:vid/watermarks: a metric per subtask, `<index>.currentInputWatermark`
 * (and floe's `<index>.currentOutputWatermark`), values as strings in ms; null for an unknown vertex.
 */
export function watermarksView(client: JobClient, vertexId: string): Array<{ id: string; value: string }> | null {
  if (!client.master.graph.vertices.some((v) => v.id === vertexId)) return null;
  const tasks = client.master.execution?.tasks.filter((t) => t.id.vertexId === vertexId) ?? [];
  return tasks.flatMap((t) => {
    const { input, output } = t.watermarks;
    const i = t.id.subtaskIndex;
    return [
      ...(input === null ? [] : [{ id: `${i}.currentInputWatermark`, value: String(input) }]),
      { id: `${i}.currentOutputWatermark`, value: String(output) },
    ];
  });
}

export function jobDetails(client: JobClient) {
  const status = client.getJobStatus();
  return {
    ...jobOverview(client),
    now: Date.now(),
    'is-stoppable': !TERMINAL.has(status),
    vertices: client.master.graph.vertices.map((v) => ({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      operators: v.chain.map((t) => ({ uid: t.uid, name: t.name })),
      status: client.master.execution?.tasks.filter((t) => t.id.vertexId === v.id).map((t) => t.phase) ?? [],
    })),
    'restored-from': client.restoredFrom?.path ?? null,
  };
}

function subtaskView(s: CheckpointStats['subtasks'][number], graph: JobGraph) {
  const vertex = graph.vertices.find((v) => v.id === s.subtask.vertexId)!;
  return {
    vertex: s.subtask.vertexId,
    index: s.subtask.subtaskIndex,
    /** what a person reads (`Reduce -> FileSink (1/2)`); vertex and index stay the ids */
    name: subtaskName(vertex, s.subtask.subtaskIndex),
    ack_timestamp: s.acknowledgedAt,
    state_size: s.metrics.stateSize,
    alignment_duration: s.metrics.alignmentDurationMs,
    start_delay: s.metrics.startDelayMs,
    sync_duration: s.metrics.syncDurationMs,
    async_duration: s.metrics.asyncDurationMs,
    alignment_buffered: s.metrics.bufferedDuringAlignment,
  };
}

/** With the job graph, the view lists every acknowledged subtask, named. */
export function checkpointView(s: CheckpointStats, graph: JobGraph | null = null) {
  const latestAck = s.subtasks.reduce((m, x) => Math.max(m, x.acknowledgedAt), 0);
  return {
    id: s.id,
    status: s.status === 'completed' ? 'COMPLETED' : s.status === 'failed' ? 'FAILED' : 'IN_PROGRESS',
    is_savepoint: s.kind === 'savepoint',
    checkpoint_type: s.kind === 'savepoint' ? 'SAVEPOINT' : 'CHECKPOINT',
    trigger_timestamp: s.triggerTimestamp,
    latest_ack_timestamp: latestAck,
    end_to_end_duration: s.durationMs ?? 0,
    state_size: s.stateSize,
    max_alignment_duration: s.maxAlignmentMs,
    num_acknowledged_subtasks: s.subtasks.length,
    ...(s.failureReason ? { failure_message: s.failureReason } : {}),
    ...(graph ? { subtasks: s.subtasks.map((x) => subtaskView(x, graph)) } : {}),
  };
}

export function checkpointsView(client: JobClient) {
  const history = client.getCheckpointHistory();
  const counts = client.master.checkpointCounts;
  const completed = history.filter((s) => s.status === 'completed');
  const last = (pred: (s: CheckpointStats) => boolean) => {
    const found = [...history].reverse().find(pred);
    return found ? checkpointView(found) : null;
  };
  const durations = completed.map((s) => s.durationMs ?? 0);
  const stat = (xs: number[]) => ({ min: xs.length ? Math.min(...xs) : 0, max: xs.length ? Math.max(...xs) : 0, avg: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0 });
  return {
    counts: {
      restored: client.restoredFrom ? 1 : 0,
      total: counts.triggered,
      in_progress: history.filter((s) => s.status === 'in-progress').length,
      completed: counts.completed,
      failed: counts.failed,
    },
    summary: {
      end_to_end_duration: stat(durations),
      state_size: stat(completed.map((s) => s.stateSize)),
      alignment_duration: stat(completed.map((s) => s.maxAlignmentMs)),
    },
    latest: {
      completed: last((s) => s.status === 'completed' && s.kind === 'checkpoint'),
      savepoint: last((s) => s.status === 'completed' && s.kind === 'savepoint'),
      failed: last((s) => s.status === 'failed'),
      restored: client.restoredFrom ? { id: client.restoredFrom.checkpoint.id, is_savepoint: true, external_path: client.restoredFrom.path } : null,
    },
    history: [...history].reverse().map((s) => checkpointView(s, client.master.graph)),
  };
}

export function checkpointConfigView(client: JobClient) {
  const c = client.master.settings.checkpoint;
  return {
    mode: c.mode === 'exactly-once' ? 'exactly_once' : 'at_least_once',
    interval: c.intervalMs,
    timeout: c.timeoutMs,
    min_pause: c.minPauseMs,
    max_concurrent: c.maxConcurrent,
    tolerable_failed_checkpoints: c.tolerableFailures,
    state_backend: client.master.settings.backend.name,
    checkpoint_storage: client.master.settings.storage.name,
    unaligned_checkpoints: false,
    externalization: { enabled: false, delete_on_cancellation: true },
  };
}
