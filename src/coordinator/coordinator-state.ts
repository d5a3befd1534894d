// The checkpoint coordinator's state (plain data, never changed in place) and the effects its decisions return.
import type { CheckpointStats, CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import type { CheckpointAbortCause, TaskPhase } from '../checkpoint/control-messages.ts';
import type { SerializedError } from '../checkpoint/serialized-error.ts';
import type { TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import type { CheckpointOptions } from '../checkpoint/types.ts';
import type { CheckpointConfig } from '../config/checkpoint-config.ts';
import type { PendingCheckpoint } from './pending-checkpoint.ts';

/** A request to take a checkpoint now (API, savepoint, a finished source); `requestId` names whom to answer. */
export interface CheckpointRequest {
  options: CheckpointOptions;
  requestId?: number;
}

/** Everything the coordinator knows; never changed in place (each decision returns a new one). */
export interface CoordinatorState {
  config: CheckpointConfig;
  maxParallelism: number;
  /** the execution attempt being checkpointed: messages of older attempts are stale */
  attempt: number;
  /** subtask keys (vertex#index) that acknowledge */
  expected: readonly string[];
  /** subtask keys of the source tasks: they start checkpoints */
  sources: readonly string[];
  /** vertex id -> parallelism, to lay out operator state by subtask */
  parallelism: Readonly<Record<string, number>>;
  /** subtask key -> the name a person reads (`Reduce -> FileSink (1/2)`), for messages */
  names: Readonly<Record<string, string>>;
  /** each subtask's last reported phase, this attempt */
  tasks: Readonly<Record<string, TaskPhase>>;
  /** sources whose input is exhausted, this attempt */
  inputEnded: Readonly<Record<string, true>>;
  nextId: number;
  /** by checkpoint id (ascending, as integer keys iterate) */
  pending: Readonly<Record<number, PendingCheckpoint>>;
  /** the checkpoint a restart restores from */
  latest: CompletedCheckpoint | null;
  /** the most recent checkpoints, oldest first */
  history: readonly CheckpointStats[];
  counts: { readonly triggered: number; readonly completed: number; readonly failed: number };
  consecutiveFailures: number;
  /** when the last checkpoint completed (min-pause is measured from here) */
  lastCompletedAt: number;
  /** a periodic trigger came while max-concurrent checkpoints were pending (or triggers were held) */
  tickDeferred: boolean;
  /** subtasks that finished: later checkpoints reuse their final state */
  finished: Readonly<Record<string, TaskStateSnapshot>>;
  /** each subtask's last acknowledged state, to become its final state when it finishes */
  lastAcked: Readonly<Record<string, TaskStateSnapshot>>;
  /** requests waiting for max-concurrent */
  queued: readonly CheckpointRequest[];
  /** periodic triggers are held (a stop-with-savepoint is under way) */
  held: boolean;
}

/** What the coordinator tells whom; machine actions of the same names carry them out. */
export type CoordinatorEffect =
  | {
      type: 'triggerCheckpoint';
      params: { attempt: number; checkpointId: number; timestamp: number; options: CheckpointOptions; subtasks: string[] };
    }
  | {
      type: 'notifyCheckpointComplete';
      params: { attempt: number; subtasks: readonly string[]; checkpoint: CompletedCheckpoint; stats: CheckpointStats };
    }
  | {
      type: 'notifyCheckpointAborted';
      params: { attempt: number; subtasks: readonly string[]; checkpointId: number; cause: CheckpointAbortCause };
    }
  | { type: 'persistCheckpoint'; params: { checkpoint: CompletedCheckpoint } }
  | { type: 'discardCheckpoint'; params: { checkpointId: number } }
  | { type: 'answerRequest'; params: { requestId: number; checkpoint?: CompletedCheckpoint; error?: SerializedError } }
  | { type: 'failJob'; params: { error: SerializedError } }
  | { type: 'scheduleTick'; params: { delay: number } }
  | { type: 'cancelTick' }
  | { type: 'scheduleTimeout'; params: { checkpointId: number; delay: number } }
  | { type: 'cancelTimeout'; params: { checkpointId: number } };

export interface Decision {
  state: CoordinatorState;
  effects: CoordinatorEffect[];
}

export function initialCoordinatorState(
  config: CheckpointConfig,
  maxParallelism: number,
  latest: CompletedCheckpoint | null,
): CoordinatorState {
  return {
    config,
    maxParallelism,
    attempt: -1,
    expected: [],
    sources: [],
    parallelism: {},
    names: {},
    tasks: {},
    inputEnded: {},
    nextId: latest ? latest.id + 1 : 1,
    pending: {},
    latest,
    history: [],
    counts: { triggered: 0, completed: 0, failed: 0 },
    consecutiveFailures: 0,
    lastCompletedAt: Number.NEGATIVE_INFINITY,
    tickDeferred: false,
    finished: {},
    lastAcked: {},
    queued: [],
    held: false,
  };
}

/** The barrier options of a periodic checkpoint (savepoints are always aligned). */
export function periodicCheckpointOptions(config: CheckpointConfig): CheckpointOptions {
  if (config.unaligned) return { kind: 'checkpoint', alignment: 'unaligned' };
  return config.alignedTimeoutMs > 0
    ? { kind: 'checkpoint', alignment: 'aligned', alignedTimeoutMs: config.alignedTimeoutMs }
    : { kind: 'checkpoint', alignment: 'aligned' };
}

export const pendingCount = (s: CoordinatorState): number => Object.keys(s.pending).length;

/** Running sources and tasks whose input has ended: where a checkpoint starts. */
export function triggerTargets(s: CoordinatorState): string[] {
  return s.expected.filter((k) => s.tasks[k] === 'finishing' || (s.tasks[k] === 'running' && s.sources.includes(k)));
}

const inputHasEnded = (s: CoordinatorState, key: string): boolean =>
  s.inputEnded[key] === true || s.tasks[key] === 'finishing' || s.tasks[key] === 'finished';
/** Every source is exhausted: the final checkpoint can be taken now instead of at the next interval. */
export const allSourcesEnded = (s: CoordinatorState): boolean => s.sources.every((k) => inputHasEnded(s, k));

/**
 * Subtasks that finished without a known final state: without periodic checkpointing a task closes
 * as soon as its input ends; a source's task sends its final snapshot (FINAL_STATE) first. A task behind a
 * source, or a source whose final snapshot failed, leaves nothing that holds what it ended with, and no
 * savepoint can hold it either.
 */
export function finishedWithoutState(s: CoordinatorState): string[] {
  return s.config.enabled ? [] : Object.keys(s.finished).filter((k) => !(k in s.lastAcked));
}
