// A triggered checkpoint waiting for the acknowledgements of every subtask: plain data, and pure functions that make the next version of it.
import type { CheckpointStats, CompletedCheckpoint, OperatorState } from '../checkpoint/completed-checkpoint.ts';
import type { AcknowledgeCheckpoint } from '../checkpoint/control-messages.ts';
import { channelStateKey, type ChannelStateSnapshot, type TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import { subtaskKey, type CheckpointOptions, type SubtaskId } from '../checkpoint/types.ts';

export interface PendingCheckpoint {
  readonly id: number;
  /** wall clock at trigger, ms */
  readonly timestamp: number;
  readonly options: CheckpointOptions;
  /** subtask keys still to acknowledge */
  readonly notYetAcked: readonly string[];
  readonly acks: Readonly<Record<string, { subtask: SubtaskId; state: TaskStateSnapshot }>>;
  readonly channelState: Readonly<Record<string, ChannelStateSnapshot>>;
  readonly stats: CheckpointStats;
  /** trigger requests (ids) waiting for it */
  readonly requests: readonly number[];
  /** fully acknowledged and being made durable: the checkpoint it will complete as */
  readonly persisting: CompletedCheckpoint | null;
}

export function pendingCheckpoint(
  id: number,
  timestamp: number,
  options: CheckpointOptions,
  expected: readonly string[],
  requestId?: number,
): PendingCheckpoint {
  return {
    id,
    timestamp,
    options,
    notYetAcked: [...expected],
    acks: {},
    channelState: {},
    stats: { id, kind: options.kind, status: 'in-progress', triggerTimestamp: timestamp, stateSize: 0, subtasks: [], maxAlignmentMs: 0 },
    requests: requestId === undefined ? [] : [requestId],
    persisting: null,
  };
}

export const isFullyAcknowledged = (p: PendingCheckpoint): boolean => p.notYetAcked.length === 0;
export const hasAcknowledged = (p: PendingCheckpoint, key: string): boolean => key in p.acks;

type Ack = Pick<AcknowledgeCheckpoint, 'subtask' | 'state' | 'metrics' | 'channelState'>;

/** The checkpoint with `ack` counted; the same checkpoint for a duplicate or a subtask it does not wait for. */
export function acknowledge(p: PendingCheckpoint, ack: Ack, now: number): PendingCheckpoint {
  const key = subtaskKey(ack.subtask);
  if (!p.notYetAcked.includes(key)) return p;
  const cs = ack.channelState;
  const keepChannelState = cs !== undefined && cs.inputs.some((buffers) => buffers.length > 0);
  return {
    ...p,
    notYetAcked: p.notYetAcked.filter((k) => k !== key),
    acks: { ...p.acks, [key]: { subtask: ack.subtask, state: ack.state } },
    channelState: keepChannelState ? { ...p.channelState, [channelStateKey(cs.operatorUid, cs.subtaskIndex)]: cs } : p.channelState,
    stats: {
      ...p.stats,
      stateSize: p.stats.stateSize + ack.metrics.stateSize,
      maxAlignmentMs: Math.max(p.stats.maxAlignmentMs, ack.metrics.alignmentDurationMs),
      subtasks: [...p.stats.subtasks, { subtask: ack.subtask, acknowledgedAt: now, metrics: ack.metrics }],
    },
  };
}

/** A finished subtask acknowledges with its final state and no cost. */
export function acknowledgeFinished(p: PendingCheckpoint, key: string, state: TaskStateSnapshot, now: number): PendingCheckpoint {
  const [vertexId, index] = key.split('#') as [string, string];
  const metrics = {
    alignmentDurationMs: 0,
    startDelayMs: 0,
    syncDurationMs: 0,
    asyncDurationMs: 0,
    stateSize: 0,
    bufferedDuringAlignment: 0,
  };
  return acknowledge(p, { subtask: { vertexId, subtaskIndex: Number(index) }, state, metrics }, now);
}

/** Builds the completed checkpoint: operator uid -> state per subtask. */
export function finalize(
  p: PendingCheckpoint,
  now: number,
  maxParallelism: number,
  parallelism: Readonly<Record<string, number>>,
): CompletedCheckpoint {
  const operators: Record<string, OperatorState> = {};
  for (const { subtask, state } of Object.values(p.acks)) {
    for (const [uid, opState] of Object.entries(state)) {
      const entry = (operators[uid] ??= { parallelism: parallelism[subtask.vertexId] ?? 1, subtasks: [] });
      entry.subtasks[subtask.subtaskIndex] = opState;
    }
  }
  const { options } = p;
  return {
    id: p.id,
    kind: options.kind,
    timestamp: p.timestamp,
    completedAt: now,
    durationMs: now - p.timestamp,
    stateSize: p.stats.stateSize,
    maxParallelism,
    operators,
    ...(options.kind === 'savepoint' && options.targetDirectory
      ? { savepoint: { targetDirectory: options.targetDirectory, drained: options.drained === true } }
      : {}),
    ...(Object.keys(p.channelState).length > 0 ? { channelState: { ...p.channelState } } : {}),
  };
}

/** Its statistics once it failed. */
export function failedStats(p: PendingCheckpoint, reason: string, code: string, now: number): CheckpointStats {
  return { ...p.stats, status: 'failed', failureReason: reason, failureCode: code, endTimestamp: now, durationMs: now - p.timestamp };
}

/** Its statistics once it completed. */
export function completedStats(p: PendingCheckpoint, now: number): CheckpointStats {
  return { ...p.stats, status: 'completed', endTimestamp: now, durationMs: now - p.timestamp };
}
