// The checkpoint coordinator's decisions, pure: its state, an event and the time in; the next state and what to do out.
import type { CheckpointStats, CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import type {
  AcknowledgeCheckpoint,
  CheckpointAbortCause,
  DeclineCheckpoint,
  EndOfInput,
  TaskFinalState,
  TaskStateChanged,
} from '../checkpoint/control-messages.ts';
import type { SerializedError } from '../checkpoint/serialized-error.ts';
import { subtaskKey, type CheckpointOptions } from '../checkpoint/types.ts';
import {
  allSourcesEnded,
  finishedWithoutState,
  pendingCount,
  periodicCheckpointOptions,
  triggerTargets,
  type CheckpointRequest,
  type CoordinatorEffect,
  type CoordinatorState,
  type Decision,
} from './coordinator-state.ts';
import {
  acknowledge,
  acknowledgeFinished,
  completedStats,
  failedStats,
  finalize,
  hasAcknowledged,
  isFullyAcknowledged,
  pendingCheckpoint,
  type PendingCheckpoint,
} from './pending-checkpoint.ts';

/** Declines caused by another failure (subsumption, an upstream cancel, a task not running) are not counted. */
const NOT_COUNTED = new Set(['FLOE_CHECKPOINT_SUBSUMED', 'FLOE_CHECKPOINT_CANCELED_UPSTREAM', 'FLOE_TASK_NOT_READY']);

/**
 * A decision in the making: the state so far and the effects so far. The functions below take
 * one, replace `state` with new objects and append effects; the context they started from is
 * never written to.
 */
class Step {
  readonly effects: CoordinatorEffect[] = [];
  constructor(
    public state: CoordinatorState,
    readonly now: number,
  ) {}

  set(patch: Partial<CoordinatorState>): void {
    this.state = { ...this.state, ...patch };
  }

  setPending(p: PendingCheckpoint): void {
    this.set({
      pending: { ...this.state.pending, [p.id]: p },
      history: replaceStats(this.state.history, p.stats, this.state.config.historySize),
    });
  }

  removePending(id: number, stats: CheckpointStats): void {
    const { [id]: _, ...pending } = this.state.pending;
    this.set({ pending, history: replaceStats(this.state.history, stats, this.state.config.historySize) });
  }

  done(): Decision {
    return { state: this.state, effects: this.effects };
  }
}

/** The history with `stats` replacing its entry (searched from the newest end: pending checkpoints are there), or appended; at most `size` kept. */
function replaceStats(history: readonly CheckpointStats[], stats: CheckpointStats, size: number): CheckpointStats[] {
  let i = history.length - 1;
  while (i >= 0 && history[i]!.id !== stats.id) i--;
  const next = [...history];
  if (i >= 0) next[i] = stats;
  else next.push(stats);
  return next.length > size ? next.slice(next.length - size) : next;
}

function scheduleTick(step: Step, delay: number): void {
  step.effects.push({ type: 'scheduleTick', params: { delay: Math.max(0, delay) } });
}

function trigger(step: Step, options: CheckpointOptions, requestId?: number): void {
  const s = step.state;
  const id = s.nextId;
  let p = pendingCheckpoint(id, step.now, options, s.expected, requestId);
  for (const [key, state] of Object.entries(s.finished)) p = acknowledgeFinished(p, key, state, step.now);
  step.set({ nextId: id + 1, counts: { ...s.counts, triggered: s.counts.triggered + 1 } });
  step.setPending(p);
  step.effects.push(
    { type: 'scheduleTimeout', params: { checkpointId: id, delay: s.config.timeoutMs } },
    {
      type: 'triggerCheckpoint',
      params: { attempt: s.attempt, checkpointId: id, timestamp: p.timestamp, options, subtasks: triggerTargets(s) },
    },
  );
  if (isFullyAcknowledged(p)) acknowledged(step, p);
}

/** A request: triggered now, refused if a finished task's state is not known, or queued while max-concurrent checkpoints are pending. */
function request(step: Step, r: CheckpointRequest): void {
  if (refusedForFinishedTasks(step, r)) return;
  if (pendingCount(step.state) >= step.state.config.maxConcurrent) step.set({ queued: [...step.state.queued, r] });
  else trigger(step, r.options, r.requestId);
}

/** Every subtask acknowledged: the checkpoint stays pending while the persist step makes it durable. */
function acknowledged(step: Step, p: PendingCheckpoint): void {
  const s = step.state;
  const checkpoint = finalize(p, step.now, s.maxParallelism, s.parallelism);
  step.setPending({ ...p, persisting: checkpoint });
  step.effects.push({ type: 'persistCheckpoint', params: { checkpoint } });
}

function complete(step: Step, p: PendingCheckpoint, externalPointer: string | undefined): void {
  const now = step.now;
  const checkpoint: CompletedCheckpoint = {
    ...p.persisting!,
    completedAt: now,
    durationMs: now - p.persisting!.timestamp,
    ...(externalPointer !== undefined ? { externalPointer } : {}),
  };
  const stats = completedStats(p, now);
  step.removePending(p.id, stats);
  step.effects.push({ type: 'cancelTimeout', params: { checkpointId: p.id } });
  const s = step.state;
  step.set({ counts: { ...s.counts, completed: s.counts.completed + 1 } });
  // a savepoint does not subsume checkpoints nor become the restart point
  if (checkpoint.kind === 'checkpoint') {
    step.set({ latest: checkpoint, consecutiveFailures: 0 });
    const older = Object.values(step.state.pending).filter((o) => o.id < p.id);
    for (const o of older) abort(step, o.id, { code: 'FLOE_CHECKPOINT_SUBSUMED', message: `subsumed by checkpoint ${p.id}` });
  }
  step.set({ lastCompletedAt: now });
  step.effects.push({
    type: 'notifyCheckpointComplete',
    params: { attempt: step.state.attempt, subtasks: step.state.expected, checkpoint, stats },
  });
  for (const requestId of p.requests) step.effects.push({ type: 'answerRequest', params: { requestId, checkpoint } });
  afterPendingEnded(step);
}

/** Answers (and drops) a request that cannot be met because tasks finished without a known final state. */
function refusedForFinishedTasks(step: Step, r: CheckpointRequest): boolean {
  const gone = finishedWithoutState(step.state);
  if (gone.length === 0) return false;
  if (r.requestId !== undefined)
    step.effects.push({ type: 'answerRequest', params: { requestId: r.requestId, error: tasksFinishedError(step.state, gone) } });
  return true;
}

/** Why a checkpoint cannot be taken once tasks finished without periodic checkpointing (the job is finishing by itself). */
function tasksFinishedError(s: CoordinatorState, keys: readonly string[]): SerializedError {
  const names =
    keys
      .slice(0, 3)
      .map((k) => nameOf(s, k))
      .join(', ') + (keys.length > 3 ? ` and ${keys.length - 3} more` : '');
  return {
    name: 'CheckpointError',
    code: 'FLOE_CHECKPOINT_TASK_FINISHED',
    message: `${names} already finished (input ended) and its final state is not known (without periodic checkpointing only a source's task sends it, and its final snapshot may have failed), so no savepoint can hold it`,
    hint: "the job runs on and ends by itself; run it with --checkpoint-interval to keep finished tasks' state in checkpoints",
  };
}

/** How an abort reaches a caller who asked for the checkpoint: FLOE_CHECKPOINT_ABORTED, its cause inside. */
function abortedError(id: number, cause: CheckpointAbortCause): SerializedError {
  return {
    name: 'CheckpointError',
    code: 'FLOE_CHECKPOINT_ABORTED',
    message: `checkpoint ${id} aborted: ${cause.message}`,
    cause: { name: 'CheckpointError', code: cause.code, message: cause.message, ...(cause.cause ? { cause: cause.cause } : {}) },
  };
}

interface AbortOptions {
  /** counts against execution.checkpointing.tolerable-failed-checkpoints (as Flink: expiry, async and IO failures) */
  counted?: boolean;
  /** still pending when the job ended: discarded, not failed */
  discarded?: boolean;
}

function abort(step: Step, id: number, cause: CheckpointAbortCause, { counted = false, discarded = false }: AbortOptions = {}): void {
  const p = step.state.pending[id];
  if (!p) return;
  step.removePending(id, failedStats(p, cause.message, cause.code, step.now));
  const s = step.state;
  if (!discarded) step.set({ counts: { ...s.counts, failed: s.counts.failed + 1 } });
  step.effects.push(
    { type: 'cancelTimeout', params: { checkpointId: id } },
    { type: 'notifyCheckpointAborted', params: { attempt: s.attempt, subtasks: s.expected, checkpointId: id, cause } },
    // best effort: a leftover directory without _metadata is never restored
    { type: 'discardCheckpoint', params: { checkpointId: id } },
  );
  for (const requestId of p.requests) step.effects.push({ type: 'answerRequest', params: { requestId, error: abortedError(id, cause) } });
  if (!counted || p.options.kind !== 'checkpoint') return;
  const failures = step.state.consecutiveFailures + 1;
  step.set({ consecutiveFailures: failures });
  const { tolerableFailures } = step.state.config;
  if (failures <= tolerableFailures) return;
  step.effects.push({
    type: 'failJob',
    params: {
      error: {
        name: 'JobExecutionError',
        code: 'FLOE_TOO_MANY_CHECKPOINT_FAILURES',
        message: `${failures} consecutive checkpoints failed (tolerable: ${tolerableFailures}); last: ${cause.message}`,
        hint: 'raise execution.checkpointing.tolerable-failed-checkpoints or execution.checkpointing.timeout, or fix the cause above',
      },
    },
  });
}

/** A slot for another checkpoint may be free: queued requests first, then a deferred periodic trigger. */
function afterPendingEnded(step: Step): void {
  const max = step.state.config.maxConcurrent;
  while (step.state.queued.length > 0 && pendingCount(step.state) < max) {
    const [next, ...rest] = step.state.queued;
    step.set({ queued: rest });
    if (!refusedForFinishedTasks(step, next!)) trigger(step, next!.options, next!.requestId);
  }
  if (step.state.tickDeferred && pendingCount(step.state) < max) {
    step.set({ tickDeferred: false });
    scheduleTick(step, step.state.config.minPauseMs);
  }
}

/** A message of `attempt`: null if stale; the state moved to that attempt if it is a newer one (its tasks report before START). */
function forAttempt(s: CoordinatorState, attempt: number): CoordinatorState | null {
  if (attempt < s.attempt) return null;
  if (attempt === s.attempt) return s;
  return { ...s, attempt, tasks: {}, inputEnded: {}, finished: {}, lastAcked: {} };
}

// ---- decisions, one per event ----

export interface StartEvent {
  attempt: number;
  expected: readonly string[];
  sources: readonly string[];
  parallelism: Readonly<Record<string, number>>;
  /** subtask key -> the name a person reads, for messages (keys stand in for names not given) */
  names?: Readonly<Record<string, string>>;
}

/** The name of a subtask in messages: its task name, or its key when the job did not say. */
const nameOf = (s: CoordinatorState, key: string) => s.names[key] ?? key;

/** The attempt runs: checkpoints may be triggered (periodically, if enabled). */
export function decideStart(s: CoordinatorState, e: StartEvent, now: number): Decision {
  const step = new Step(forAttempt(s, e.attempt) ?? s, now);
  step.set({ expected: [...e.expected], sources: [...e.sources], parallelism: { ...e.parallelism }, names: { ...e.names } });
  // a task that finished before the attempt ran (a restored source subtask given no split, without checkpointing:
  // it closes at once, its FINAL_STATE first) counts as finished now: savepoints hold its final state (or, if its
  // final snapshot failed, are refused at once instead of waiting for it)
  for (const [key, state] of Object.entries(step.state.tasks))
    if (state === 'finished' && !(key in step.state.finished)) finished(step, key);
  if (s.config.enabled) scheduleTick(step, s.config.intervalMs);
  // every source ended before the attempt ran (their END_OF_INPUT came first): the final checkpoint starts now
  if (s.config.enabled && !s.held && e.sources.length > 0 && allSourcesEnded(step.state))
    request(step, { options: { kind: 'checkpoint', alignment: 'aligned' } });
  return step.done();
}

/** The periodic trigger: now, later (min pause), or once a slot frees up (max concurrent, held). */
export function decideTick(s: CoordinatorState, now: number): Decision {
  const step = new Step(s, now);
  if (pendingCount(s) >= s.config.maxConcurrent || s.held) {
    step.set({ tickDeferred: true });
    return step.done();
  }
  const wait = s.lastCompletedAt + s.config.minPauseMs - now;
  if (wait > 0) {
    scheduleTick(step, wait);
    return step.done();
  }
  trigger(step, periodicCheckpointOptions(s.config));
  scheduleTick(step, s.config.intervalMs);
  return step.done();
}

export function decideTrigger(s: CoordinatorState, r: CheckpointRequest, now: number): Decision {
  const step = new Step(s, now);
  request(step, r);
  return step.done();
}

/** A trigger request while no attempt runs. */
export function decideTriggerRefused(s: CoordinatorState, r: CheckpointRequest): Decision {
  const error: SerializedError = {
    name: 'CheckpointError',
    code: 'FLOE_JOB_NOT_RUNNING',
    message: 'cannot take a checkpoint: the job is not running',
    hint: 'wait until the job is RUNNING',
  };
  return { state: s, effects: r.requestId === undefined ? [] : [{ type: 'answerRequest', params: { requestId: r.requestId, error } }] };
}

export function decideAcknowledge(s: CoordinatorState, ack: AcknowledgeCheckpoint, now: number): Decision {
  if (ack.attempt !== s.attempt) return { state: s, effects: [] };
  const step = new Step(s, now);
  step.set({ lastAcked: { ...s.lastAcked, [subtaskKey(ack.subtask)]: ack.state } });
  const p = s.pending[ack.checkpointId];
  if (!p) return step.done(); // late ack of an aborted or subsumed checkpoint
  const next = acknowledge(p, ack, now);
  if (next === p) return step.done();
  step.setPending(next);
  if (isFullyAcknowledged(next) && !next.persisting) acknowledged(step, next);
  return step.done();
}

export function decideDecline(s: CoordinatorState, decline: DeclineCheckpoint, now: number): Decision {
  if (decline.attempt !== s.attempt) return { state: s, effects: [] };
  const step = new Step(s, now);
  const { cause } = decline;
  const counted = !NOT_COUNTED.has(cause.code ?? '');
  abort(
    step,
    decline.checkpointId,
    { code: 'FLOE_CHECKPOINT_DECLINED', message: `declined by ${nameOf(s, subtaskKey(decline.subtask))}: ${cause.message}`, cause },
    { counted },
  );
  afterPendingEnded(step);
  return step.done();
}

export function decideTimeout(s: CoordinatorState, checkpointId: number, now: number): Decision {
  const p = s.pending[checkpointId];
  if (!p) return { state: s, effects: [] };
  const step = new Step(s, now);
  const missing = p.notYetAcked
    .slice(0, 5)
    .map((key) => nameOf(s, key))
    .join(', ');
  const message = `expired after ${s.config.timeoutMs} ms before every task acknowledged (waiting for ${missing})`;
  abort(step, checkpointId, { code: 'FLOE_CHECKPOINT_EXPIRED', message }, { counted: true });
  afterPendingEnded(step);
  return step.done();
}

/**
 * A task's phase changed. Finished: it acknowledges every later checkpoint with its final state.
 * Finishing (its input ended and was flushed downstream): a barrier can no longer reach it, so the
 * pending checkpoints it has not acknowledged are triggered at it directly; a source that ends
 * last makes the final checkpoint start now.
 */
export function decideTaskState(s: CoordinatorState, m: TaskStateChanged, running: boolean, now: number): Decision {
  const moved = forAttempt(s, m.attempt);
  if (!moved) return { state: s, effects: [] };
  const key = subtaskKey(m.subtask);
  const step = new Step({ ...moved, tasks: { ...moved.tasks, [key]: m.state } }, now);
  if (!running) return step.done();
  if (m.state === 'finished') finished(step, key);
  if (m.state === 'finishing') finishing(step, key);
  return step.done();
}

function finished(step: Step, key: string): void {
  const state = step.state.lastAcked[key] ?? {};
  step.set({ finished: { ...step.state.finished, [key]: state } });
  const unknown = finishedWithoutState(step.state).includes(key);
  for (const p of Object.values(step.state.pending)) {
    if (hasAcknowledged(p, key)) continue;
    if (unknown) {
      // it closed without taking part (it would acknowledge with an empty state): the checkpoint cannot hold its final state
      const error = tasksFinishedError(step.state, [key]);
      abort(step, p.id, { code: 'FLOE_CHECKPOINT_TASK_FINISHED', message: error.message, cause: error });
      continue;
    }
    const next = acknowledgeFinished(p, key, state, step.now);
    step.setPending(next);
    if (isFullyAcknowledged(next) && !next.persisting) acknowledged(step, next);
  }
  if (unknown) afterPendingEnded(step);
}

function finishing(step: Step, key: string): void {
  const s = step.state;
  if (!s.config.enabled || s.held) return;
  for (const p of Object.values(s.pending)) {
    if (hasAcknowledged(p, key)) continue;
    step.effects.push({
      type: 'triggerCheckpoint',
      params: { attempt: s.attempt, checkpointId: p.id, timestamp: p.timestamp, options: p.options, subtasks: [key] },
    });
  }
  // no final checkpoint here: END_OF_INPUT (or START, or RESUME) requested it already, and a second one would
  // reach a task that is closing and be declined
}

function finalCheckpointIfSourcesEnded(step: Step, key: string): void {
  const s = step.state;
  if (s.sources.includes(key) && allSourcesEnded(s)) request(step, { options: { kind: 'checkpoint', alignment: 'aligned' } });
}

/**
 * Without periodic checkpointing, a task's final state (its snapshot as its input ended), sent before it reports
 * finished: recorded as the state it acknowledges later checkpoints with, as a final checkpoint's acknowledgement is.
 */
export function decideFinalState(s: CoordinatorState, m: TaskFinalState): Decision {
  const moved = forAttempt(s, m.attempt);
  if (!moved) return { state: s, effects: [] };
  const key = subtaskKey(m.subtask);
  const lastAcked = { ...moved.lastAcked, [key]: m.state };
  // it reports finished after this message; should it come first, its final state is still taken from here on
  const finished = key in moved.finished ? { ...moved.finished, [key]: m.state } : moved.finished;
  return { state: { ...moved, lastAcked, finished }, effects: [] };
}

/** A source is exhausted (it runs on until its final checkpoint reaches it): if it was the last one, that checkpoint starts now. */
export function decideEndOfInput(s: CoordinatorState, m: EndOfInput, running: boolean, now: number): Decision {
  const moved = forAttempt(s, m.attempt);
  if (!moved) return { state: s, effects: [] };
  const key = subtaskKey(m.subtask);
  const step = new Step({ ...moved, inputEnded: { ...moved.inputEnded, [key]: true } }, now);
  if (running && s.config.enabled && !s.held) finalCheckpointIfSourcesEnded(step, key);
  return step.done();
}

export function decideHold(s: CoordinatorState, held: boolean, running: boolean, now: number): Decision {
  const step = new Step({ ...s, held }, now);
  if (held || !running) return step.done();
  if (s.tickDeferred) afterPendingEnded(step);
  // sources that ended while held still need their final checkpoint
  if (s.config.enabled && s.sources.length > 0 && allSourcesEnded(s))
    request(step, { options: { kind: 'checkpoint', alignment: 'aligned' } });
  return step.done();
}

export function decidePersisted(s: CoordinatorState, checkpointId: number, externalPointer: string | undefined, now: number): Decision {
  const p = s.pending[checkpointId];
  // aborted meanwhile (timeout, suspend): its files were discarded
  if (!p?.persisting) return { state: s, effects: [] };
  const step = new Step(s, now);
  complete(step, p, externalPointer);
  return step.done();
}

export function decidePersistFailed(s: CoordinatorState, checkpointId: number, error: SerializedError, now: number): Decision {
  const step = new Step(s, now);
  abort(
    step,
    checkpointId,
    { code: 'FLOE_CHECKPOINT_PERSIST_FAILED', message: `could not be made durable: ${error.message}`, cause: error },
    { counted: true },
  );
  afterPendingEnded(step);
  return step.done();
}

/** The job restored from `checkpoint` (a fallback, or one loaded from disk): it is the restart point now. */
export function decideRestored(s: CoordinatorState, checkpoint: CompletedCheckpoint): Decision {
  return { state: { ...s, latest: checkpoint, nextId: Math.max(s.nextId, checkpoint.id + 1) }, effects: [] };
}

/** The attempt stops (failure, restart, cancel): pending checkpoints are aborted uncounted, queued requests dropped. */
export function decideSuspend(s: CoordinatorState, reason: string, now: number): Decision {
  const step = new Step({ ...s, tickDeferred: false }, now);
  step.effects.push({ type: 'cancelTick' });
  for (const id of Object.keys(s.pending))
    abort(step, Number(id), { code: 'FLOE_CHECKPOINT_JOB_SUSPENDED', message: `job suspended: ${reason}` });
  for (const r of step.state.queued) {
    if (r.requestId === undefined) continue;
    const error: SerializedError = {
      name: 'CheckpointError',
      code: 'FLOE_CHECKPOINT_ABORTED',
      message: `checkpoint request dropped: ${reason}`,
    };
    step.effects.push({ type: 'answerRequest', params: { requestId: r.requestId, error } });
  }
  step.set({ queued: [] });
  return step.done();
}

/** The job ended: what is still pending is discarded (nothing went wrong with it). */
export function decideShutdown(s: CoordinatorState, now: number): Decision {
  const step = new Step(s, now);
  step.effects.push({ type: 'cancelTick' });
  for (const id of Object.keys(s.pending))
    abort(step, Number(id), { code: 'FLOE_CHECKPOINT_DISCARDED', message: 'discarded: the job ended first' }, { discarded: true });
  return step.done();
}
