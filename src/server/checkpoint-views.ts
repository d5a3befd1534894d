// The JSON shapes of checkpoint statistics over REST, after Flink's CheckpointingStatistics and its details.
import type { JobClient } from '../api/job-client.ts';
import type { CheckpointStats, SubtaskCheckpointStats } from '../checkpoint/completed-checkpoint.ts';
import { subtaskName, type JobVertex } from '../graph/job-graph.ts';
import type { JobRecord } from './job-tracker.ts';
import { vertexId } from './job-views.ts';

/** Flink's StatsSummaryDto: integer min, max, avg and percentiles */
export function statsSummary(xs: number[]) {
  if (xs.length === 0) return { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!);
  return {
    min: Math.round(s[0]!),
    max: Math.round(s[s.length - 1]!),
    avg: Math.round(s.reduce((a, b) => a + b, 0) / s.length),
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
    p999: q(0.999),
  };
}

const STATUS = { completed: 'COMPLETED', failed: 'FAILED', 'in-progress': 'IN_PROGRESS' } as const;
const CLASS_NAME = { completed: 'completed', failed: 'failed', 'in-progress': 'in_progress' } as const;

const unaligned = (s: CheckpointStats) => s.subtasks.some((x) => x.metrics.unaligned === true);
const inFlight = (x: SubtaskCheckpointStats) => x.metrics.persistedInFlightBytes ?? 0;
const buffered = (x: SubtaskCheckpointStats) => x.metrics.bytesHeldDuringAlignment ?? 0;
const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

/** the checkpoint's type as Flink names it */
function checkpointType(s: CheckpointStats): string {
  if (s.kind === 'savepoint') return 'SAVEPOINT';
  return unaligned(s) ? 'UNALIGNED_CHECKPOINT' : 'CHECKPOINT';
}

/** per-vertex statistics of one checkpoint (TaskCheckpointStatistics) */
function taskStats(client: JobClient, s: CheckpointStats, v: JobVertex) {
  const acks = s.subtasks.filter((x) => x.subtask.vertexId === v.id);
  return {
    id: s.id,
    status: STATUS[s.status],
    latest_ack_timestamp: acks.reduce((m, x) => Math.max(m, x.acknowledgedAt), 0),
    checkpointed_size: sum(acks, (x) => x.metrics.stateSize),
    state_size: sum(acks, (x) => x.metrics.stateSize),
    end_to_end_duration: acks.reduce((m, x) => Math.max(m, x.acknowledgedAt - s.triggerTimestamp), 0),
    alignment_buffered: sum(acks, buffered),
    processed_data: 0,
    persisted_data: sum(acks, inFlight),
    num_subtasks: v.parallelism,
    num_acknowledged_subtasks: acks.length,
  };
}

/** A history entry (CheckpointStatistics), with its per-vertex `tasks` keyed by vertex id. */
export function checkpointView(client: JobClient, record: JobRecord, s: CheckpointStats) {
  const vertices = client.master.graph.vertices;
  const latestAck = s.subtasks.reduce((m, x) => Math.max(m, x.acknowledgedAt), 0);
  const base = {
    className: CLASS_NAME[s.status],
    id: s.id,
    status: STATUS[s.status],
    is_savepoint: s.kind === 'savepoint',
    savepointFormat: s.kind === 'savepoint' ? 'CANONICAL' : null,
    trigger_timestamp: s.triggerTimestamp,
    latest_ack_timestamp: latestAck,
    checkpointed_size: s.stateSize,
    state_size: s.stateSize,
    end_to_end_duration: Math.round(
      s.durationMs ?? (s.status === 'in-progress' ? Date.now() - s.triggerTimestamp : latestAck ? latestAck - s.triggerTimestamp : 0),
    ),
    alignment_buffered: sum(s.subtasks, buffered),
    processed_data: 0,
    persisted_data: sum(s.subtasks, inFlight),
    num_subtasks: vertices.reduce((n, v) => n + v.parallelism, 0),
    num_acknowledged_subtasks: s.subtasks.length,
    checkpoint_type: checkpointType(s),
    tasks: Object.fromEntries(vertices.map((v) => [vertexId(client.jobId, v), taskStats(client, s, v)])),
    // floe: the largest alignment among the subtasks, ms
    max_alignment_duration: s.maxAlignmentMs,
  };
  if (s.status === 'completed') return { ...base, external_path: record.externalPaths.get(s.id) ?? null, discarded: false };
  if (s.status === 'failed')
    return {
      ...base,
      failure_timestamp: s.endTimestamp ?? latestAck,
      failure_message: s.failureReason ?? null,
      ...(s.failureCode ? { failure_code: s.failureCode } : {}),
    };
  return base;
}

/** GET /jobs/:id/checkpoints/details/:cid/subtasks/:vid (TaskCheckpointStatisticsWithSubtaskDetails) */
export function subtaskCheckpointsView(client: JobClient, s: CheckpointStats, v: JobVertex) {
  const acks = new Map(s.subtasks.filter((x) => x.subtask.vertexId === v.id).map((x) => [x.subtask.subtaskIndex, x]));
  const acked = [...acks.values()];
  return {
    ...taskStats(client, s, v),
    summary: {
      state_size: statsSummary(acked.map((x) => x.metrics.stateSize)),
      checkpointed_size: statsSummary(acked.map((x) => x.metrics.stateSize)),
      end_to_end_duration: statsSummary(acked.map((x) => x.acknowledgedAt - s.triggerTimestamp)),
      checkpoint_duration: {
        sync: statsSummary(acked.map((x) => x.metrics.syncDurationMs)),
        async: statsSummary(acked.map((x) => x.metrics.asyncDurationMs)),
      },
      alignment: {
        buffered: statsSummary(acked.map(buffered)),
        processed: statsSummary([]),
        persisted: statsSummary(acked.map(inFlight)),
        duration: statsSummary(acked.map((x) => x.metrics.alignmentDurationMs)),
      },
      start_delay: statsSummary(acked.map((x) => x.metrics.startDelayMs)),
    },
    subtasks: Array.from({ length: v.parallelism }, (_, index) => {
      const x = acks.get(index);
      if (!x) return { index, status: 'pending_or_failed', name: subtaskName(v, index) };
      return {
        index,
        status: 'completed',
        // floe: what a person reads for the subtask
        name: subtaskName(v, index),
        ack_timestamp: x.acknowledgedAt,
        end_to_end_duration: x.acknowledgedAt - s.triggerTimestamp,
        state_size: x.metrics.stateSize,
        checkpointed_size: x.metrics.stateSize,
        checkpoint: { sync: Math.round(x.metrics.syncDurationMs), async: Math.round(x.metrics.asyncDurationMs) },
        alignment: { buffered: buffered(x), processed: 0, persisted: inFlight(x), duration: Math.round(x.metrics.alignmentDurationMs) },
        start_delay: Math.round(x.metrics.startDelayMs),
        unaligned_checkpoint: x.metrics.unaligned === true,
        aborted: false,
        // floe: records left queued on blocked channels during alignment
        alignment_buffered_records: x.metrics.bufferedDuringAlignment,
      };
    }),
  };
}

/** GET /jobs/:id/checkpoints; `page` slices the history (newest first): only the entries served are built. */
export function checkpointsView(client: JobClient, record: JobRecord, page: { offset?: number; limit?: number } = {}) {
  const history = client.getCheckpointHistory();
  const counts = client.master.checkpointCounts;
  const completed = history.filter((s) => s.status === 'completed');
  const last = (pred: (s: CheckpointStats) => boolean) => {
    const found = [...history].reverse().find(pred);
    return found ? checkpointView(client, record, found) : null;
  };
  const restored = client.restoredFrom;
  return {
    counts: {
      restored: restored ? 1 : 0,
      total: counts.triggered,
      in_progress: history.filter((s) => s.status === 'in-progress').length,
      completed: counts.completed,
      failed: counts.failed,
    },
    summary: {
      checkpointed_size: statsSummary(completed.map((s) => s.stateSize)),
      state_size: statsSummary(completed.map((s) => s.stateSize)),
      end_to_end_duration: statsSummary(completed.map((s) => s.durationMs ?? 0)),
      alignment_buffered: statsSummary(completed.map((s) => sum(s.subtasks, buffered))),
      processed_data: statsSummary([]),
      persisted_data: statsSummary(completed.map((s) => sum(s.subtasks, inFlight))),
    },
    latest: {
      completed: last((s) => s.status === 'completed' && s.kind === 'checkpoint'),
      savepoint: last((s) => s.status === 'completed' && s.kind === 'savepoint'),
      failed: last((s) => s.status === 'failed'),
      restored: restored
        ? {
            id: restored.checkpoint.id,
            restore_timestamp: client.master.startedAt,
            is_savepoint: restored.kind === 'savepoint',
            external_path: restored.path,
          }
        : null,
    },
    history: [...history]
      .reverse()
      .slice(page.offset ?? 0, page.limit === undefined ? undefined : (page.offset ?? 0) + page.limit)
      .map((s) => checkpointView(client, record, s)),
    // floe: entries in the kept history (web.checkpoints.history bounds it), what pages through it
    history_kept: history.length,
  };
}

/** GET /jobs/:id/checkpoints/config: the job's real settings */
export function checkpointConfigView(client: JobClient) {
  const c = client.master.settings.checkpoint;
  const retention = client.master.settings.storage.retention ?? 'NO_EXTERNALIZED_CHECKPOINTS';
  return {
    mode: c.mode === 'exactly-once' ? 'exactly_once' : 'at_least_once',
    // 0: checkpointing is off (Flink says Long.MAX_VALUE, which JSON numbers cannot carry exactly)
    interval: c.intervalMs,
    timeout: c.timeoutMs,
    min_pause: c.minPauseMs,
    max_concurrent: c.maxConcurrent,
    externalization: {
      enabled: retention !== 'NO_EXTERNALIZED_CHECKPOINTS',
      delete_on_cancellation: retention !== 'RETAIN_ON_CANCELLATION',
    },
    state_backend: client.master.settings.backend.name,
    checkpoint_storage: client.master.settings.storage.name,
    unaligned_checkpoints: c.unaligned,
    tolerable_failed_checkpoints: c.tolerableFailures,
    aligned_checkpoint_timeout: c.alignedTimeoutMs,
    checkpoints_after_tasks_finish: true,
    state_changelog_enabled: false,
    changelog_periodic_materialization_interval: 0,
    changelog_storage: 'memory',
  };
}
