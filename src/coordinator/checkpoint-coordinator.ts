// The checkpoint coordinator actor: triggers checkpoints, collects acknowledgements, completes or aborts.
import { enqueueActions, setup } from 'xstate';
import type { AcknowledgeCheckpoint, DeclineCheckpoint } from '../checkpoint/control-messages.ts';
import type { CheckpointOptions } from '../checkpoint/types.ts';
import type { SerializedError } from '../checkpoint/serialized-error.ts';
import type { CheckpointConfig } from '../config/checkpoint-config.ts';
import type { TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import { CheckpointError, JobExecutionError } from '../errors.ts';
import { CheckpointTracker } from './checkpoint-tracker.ts';
import { PendingCheckpoint } from './pending-checkpoint.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { subtaskKey } from '../checkpoint/types.ts';

export interface CoordinatorHooks {
  /** Sends TriggerCheckpoint to the tasks that start a checkpoint (sources, tasks whose input has ended). */
  trigger(checkpointId: number, timestamp: number, options: CheckpointOptions): void;
  /**
   * Makes a fully acknowledged checkpoint durable (writes `_metadata`); it completes only when this
   * resolves, and is aborted (a counted failure) when it rejects. Without it, completion is immediate.
   */
  persist?(checkpoint: CompletedCheckpoint): Promise<void>;
  notifyComplete(checkpoint: CompletedCheckpoint): void;
  notifyAborted(checkpointId: number, reason: string): void;
  /** More consecutive checkpoint failures than tolerated: fail the job. */
  failJob(error: Error): void;
}

export interface CoordinatorInput {
  config: CheckpointConfig;
  maxParallelism: number;
  hooks: CoordinatorHooks;
  /** the clock the delays run on (a SimulatedClock's now() in specs) */
  now?: () => number;
  /** restore point carried across restarts */
  latest?: CompletedCheckpoint | null;
}

export interface CheckpointRequest {
  options: CheckpointOptions;
  resolve(c: CompletedCheckpoint): void;
  reject(e: Error): void;
}

export type CoordinatorEvent =
  | { type: 'START'; expected: string[]; parallelism: Map<string, number> }
  | { type: 'SUSPEND'; reason: string }
  | { type: 'SHUTDOWN' }
  | { type: 'TICK' }
  | { type: 'TRIGGER'; request: CheckpointRequest }
  | { type: 'ACK'; ack: AcknowledgeCheckpoint }
  | { type: 'DECLINE'; decline: DeclineCheckpoint }
  | { type: 'TIMEOUT'; checkpointId: number }
  | { type: 'TASK_FINISHED'; subtask: string }
  /** stop/cancel with a savepoint: no periodic checkpoint may complete after the savepoint; RESUME if it fails */
  | { type: 'HOLD' }
  | { type: 'RESUME' }
  | { type: 'PERSISTED'; checkpointId: number }
  | { type: 'PERSIST_FAILED'; checkpointId: number; error: Error }
  /** the job restored from `checkpoint` (a fallback, or a checkpoint loaded from disk): it is the restart point now */
  | { type: 'RESTORED'; checkpoint: CompletedCheckpoint };

interface Context {
  config: CheckpointConfig;
  maxParallelism: number;
  hooks: CoordinatorHooks;
  now: () => number;
  tracker: CheckpointTracker;
  queued: CheckpointRequest[];
  /** periodic triggers are held (a stop-with-savepoint is under way) */
  held: boolean;
}

/** Declines caused by another failure (subsumption, an upstream cancel, a task not running) are not counted. */
const NOT_COUNTED = new Set(['FLOE_CHECKPOINT_SUBSUMED', 'FLOE_CHECKPOINT_CANCELED_UPSTREAM', 'FLOE_TASK_NOT_READY']);
function countsAsFailure(cause: SerializedError): boolean {
  return !NOT_COUNTED.has(cause.code ?? '');
}

/** The part of xstate's action enqueuer the helpers below use: delayed self-events and their cancellation. */
interface Enqueue {
  raise(event: CoordinatorEvent, options: { id: string; delay: number }): void;
  cancel(id: string): void;
}

/** Where the persist step reports back (the coordinator actor itself). */
interface Self {
  send(event: CoordinatorEvent): void;
}

/** The barrier options of a periodic checkpoint (savepoints are always aligned). */
export function periodicCheckpointOptions(config: CheckpointConfig): CheckpointOptions {
  if (config.unaligned) return { kind: 'checkpoint', alignment: 'unaligned' };
  return config.alignedTimeoutMs > 0 ? { kind: 'checkpoint', alignment: 'aligned', alignedTimeoutMs: config.alignedTimeoutMs } : { kind: 'checkpoint', alignment: 'aligned' };
}

function scheduleTick(enqueue: Enqueue, delay: number): void {
  enqueue.cancel('tick');
  enqueue.raise({ type: 'TICK' }, { id: 'tick', delay: Math.max(0, delay) });
}

function trigger(context: Context, enqueue: Enqueue, self: Self, options: CheckpointOptions, waiter?: CheckpointRequest): void {
  const t = context.tracker;
  const id = t.nextId++;
  const pending = new PendingCheckpoint(id, context.now(), options, t.expected, t.parallelism);
  if (waiter) pending.waiters.push(waiter);
  t.pending.set(id, pending);
  t.counts.triggered++;
  t.record(pending.stats);
  for (const [key, state] of t.finished) acknowledgeFinished(pending, key, state, context.now());
  enqueue.raise({ type: 'TIMEOUT', checkpointId: id }, { id: `timeout-${id}`, delay: context.config.timeoutMs });
  context.hooks.trigger(id, pending.timestamp, options);
  if (pending.isFullyAcknowledged) acknowledged(context, enqueue, self, pending);
}

function acknowledgeFinished(pending: PendingCheckpoint, key: string, state: TaskStateSnapshot, now: number): void {
  const [vertexId, index] = key.split('#') as [string, string];
  pending.acknowledge(
    {
      type: 'ACKNOWLEDGE_CHECKPOINT',
      attempt: -1,
      checkpointId: pending.id,
      subtask: { vertexId, subtaskIndex: Number(index) },
      state,
      metrics: { alignmentDurationMs: 0, startDelayMs: 0, syncDurationMs: 0, asyncDurationMs: 0, stateSize: 0, bufferedDuringAlignment: 0 },
    },
    now,
  );
}

/** Every subtask acknowledged: persist first when there is a persist step (the checkpoint stays pending meanwhile), else complete. */
function acknowledged(context: Context, enqueue: Enqueue, self: Self, pending: PendingCheckpoint): void {
  const checkpoint = pending.finalize(context.now(), context.maxParallelism);
  const persist = context.hooks.persist;
  if (!persist) return complete(context, enqueue, self, pending, checkpoint);
  pending.persisting = checkpoint;
  persist(checkpoint).then(
    () => self.send({ type: 'PERSISTED', checkpointId: pending.id }),
    (error: unknown) => self.send({ type: 'PERSIST_FAILED', checkpointId: pending.id, error: error instanceof Error ? error : new Error(String(error)) }),
  );
}

function complete(context: Context, enqueue: Enqueue, self: Self, pending: PendingCheckpoint, checkpoint: CompletedCheckpoint): void {
  const t = context.tracker;
  const now = context.now();
  checkpoint.completedAt = now;
  checkpoint.durationMs = now - checkpoint.timestamp;
  pending.stats.status = 'completed';
  pending.stats.endTimestamp = now;
  pending.stats.durationMs = checkpoint.durationMs;
  t.pending.delete(pending.id);
  enqueue.cancel(`timeout-${pending.id}`);
  t.counts.completed++;
  // a savepoint does not subsume checkpoints nor become the restart point
  if (checkpoint.kind === 'checkpoint') {
    t.latest = checkpoint;
    t.consecutiveFailures = 0;
    for (const older of t.olderThan(pending.id)) abort(context, enqueue, older.id, `subsumed by checkpoint ${pending.id}`);
  }
  t.lastCompletedAt = now;
  context.hooks.notifyComplete(checkpoint);
  for (const w of pending.waiters) w.resolve(checkpoint);
  afterPendingEnded(context, enqueue, self);
}

/** Aborts a pending checkpoint; `counted` failures count against tolerable-failed-checkpoints (as Flink: expiry, async and IO failures). */
function abort(context: Context, enqueue: Enqueue, id: number, reason: string, counted = false, discarded = false): void {
  const t = context.tracker;
  const pending = t.pending.get(id);
  if (!pending) return;
  pending.fail(reason, context.now());
  t.pending.delete(id);
  // a checkpoint still pending when the job ends is discarded, not failed: nothing went wrong with it
  if (!discarded) t.counts.failed++;
  enqueue.cancel(`timeout-${id}`);
  context.hooks.notifyAborted(id, reason);
  const error = new CheckpointError('FLOE_CHECKPOINT_ABORTED', `checkpoint ${id} aborted: ${reason}`);
  for (const w of pending.waiters) w.reject(error);
  if (counted && pending.options.kind === 'checkpoint') {
    t.consecutiveFailures++;
    if (t.consecutiveFailures > context.config.tolerableFailures) {
      context.hooks.failJob(
        new JobExecutionError(
          'FLOE_TOO_MANY_CHECKPOINT_FAILURES',
          `${t.consecutiveFailures} consecutive checkpoints failed (tolerable: ${context.config.tolerableFailures}); last: ${reason}`,
          { hint: 'raise execution.checkpointing.tolerable-failed-checkpoints or execution.checkpointing.timeout, or fix the cause above' },
        ),
      );
    }
  }
}

function afterPendingEnded(context: Context, enqueue: Enqueue, self: Self): void {
  const t = context.tracker;
  while (context.queued.length > 0 && t.pending.size < context.config.maxConcurrent) {
    const request = context.queued.shift()!;
    trigger(context, enqueue, self, request.options, request);
  }
  if (t.tickDeferred && t.pending.size < context.config.maxConcurrent) {
    t.tickDeferred = false;
    scheduleTick(enqueue, context.config.minPauseMs);
  }
}

export const checkpointCoordinatorMachine = setup({
  types: {
    context: {} as Context,
    events: {} as CoordinatorEvent,
    input: {} as CoordinatorInput,
  },
}).createMachine({
  id: 'checkpoint-coordinator',
  context: ({ input }) => {
    const tracker = new CheckpointTracker();
    tracker.latest = input.latest ?? null;
    if (tracker.latest) tracker.nextId = tracker.latest.id + 1;
    return {
      config: input.config,
      maxParallelism: input.maxParallelism,
      hooks: input.hooks,
      now: input.now ?? Date.now,
      tracker,
      queued: [],
      held: false,
    };
  },
  initial: 'stopped',
  states: {
    stopped: {
      on: {
        START: {
          target: 'running',
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            context.tracker.expected = event.expected;
            context.tracker.parallelism = event.parallelism;
            context.tracker.finished.clear();
            context.tracker.lastAcked.clear();
            if (context.config.enabled) scheduleTick(enqueue, context.config.intervalMs);
          }),
        },
        TRIGGER: {
          actions: ({ event }) =>
            event.request.reject(new CheckpointError('FLOE_JOB_NOT_RUNNING', 'cannot take a checkpoint: the job is not running', { hint: 'wait until the job is RUNNING' })),
        },
        SHUTDOWN: 'done',
        HOLD: { actions: ({ context }) => void (context.held = true) },
        RESUME: { actions: ({ context }) => void (context.held = false) },
        RESTORED: {
          actions: ({ context, event }) => {
            const t = context.tracker;
            t.latest = event.checkpoint;
            t.nextId = Math.max(t.nextId, event.checkpoint.id + 1);
          },
        },
      },
    },
    running: {
      on: {
        TICK: {
          actions: enqueueActions(({ context, enqueue, self }) => {
            const t = context.tracker;
            if (t.pending.size >= context.config.maxConcurrent || context.held) {
              t.tickDeferred = true;
              return;
            }
            const wait = t.lastCompletedAt + context.config.minPauseMs - context.now();
            if (wait > 0) return scheduleTick(enqueue, wait);
            trigger(context, enqueue, self, periodicCheckpointOptions(context.config));
            scheduleTick(enqueue, context.config.intervalMs);
          }),
        },
        TRIGGER: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            if (context.tracker.pending.size >= context.config.maxConcurrent) context.queued.push(event.request);
            else trigger(context, enqueue, self, event.request.options, event.request);
          }),
        },
        ACK: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const t = context.tracker;
            const key = subtaskKey(event.ack.subtask);
            t.lastAcked.set(key, event.ack.state);
            const pending = t.pending.get(event.ack.checkpointId);
            if (!pending) return; // late ack of an aborted or subsumed checkpoint
            pending.acknowledge(event.ack, context.now());
            if (pending.isFullyAcknowledged && !pending.persisting) acknowledged(context, enqueue, self, pending);
          }),
        },
        DECLINE: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const { checkpointId, subtask, cause } = event.decline;
            abort(context, enqueue, checkpointId, `declined by ${subtaskKey(subtask)}: ${cause.message}`, countsAsFailure(cause));
            afterPendingEnded(context, enqueue, self);
          }),
        },
        TIMEOUT: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const pending = context.tracker.pending.get(event.checkpointId);
            if (!pending) return;
            const missing = [...pending.pendingSubtasks].slice(0, 5).join(', ');
            abort(context, enqueue, event.checkpointId, `expired after ${context.config.timeoutMs} ms before every task acknowledged (waiting for ${missing})`, true);
            afterPendingEnded(context, enqueue, self);
          }),
        },
        TASK_FINISHED: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const t = context.tracker;
            const state = t.lastAcked.get(event.subtask) ?? {};
            t.finished.set(event.subtask, state);
            for (const pending of [...t.pending.values()]) {
              if (pending.hasAcknowledged(event.subtask)) continue;
              acknowledgeFinished(pending, event.subtask, state, context.now());
              if (pending.isFullyAcknowledged && !pending.persisting) acknowledged(context, enqueue, self, pending);
            }
          }),
        },
        HOLD: { actions: ({ context }) => void (context.held = true) },
        RESUME: {
          actions: enqueueActions(({ context, enqueue, self }) => {
            context.held = false;
            if (context.tracker.tickDeferred) afterPendingEnded(context, enqueue, self);
          }),
        },
        PERSISTED: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            const pending = context.tracker.pending.get(event.checkpointId);
            // aborted meanwhile (timeout, suspend): the job master told the storage to discard it
            if (pending?.persisting) complete(context, enqueue, self, pending, pending.persisting);
          }),
        },
        PERSIST_FAILED: {
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            abort(context, enqueue, event.checkpointId, `could not be made durable: ${event.error.message}`, true);
            afterPendingEnded(context, enqueue, self);
          }),
        },
        RESTORED: {
          actions: ({ context, event }) => {
            const t = context.tracker;
            t.latest = event.checkpoint;
            t.nextId = Math.max(t.nextId, event.checkpoint.id + 1);
          },
        },
        SUSPEND: {
          target: 'stopped',
          actions: enqueueActions(({ context, event, enqueue, self }) => {
            enqueue.cancel('tick');
            context.tracker.tickDeferred = false;
            for (const id of [...context.tracker.pending.keys()]) abort(context, enqueue, id, `job suspended: ${event.reason}`);
            for (const r of context.queued.splice(0)) {
              r.reject(new CheckpointError('FLOE_CHECKPOINT_ABORTED', `checkpoint request dropped: ${event.reason}`));
            }
          }),
        },
        SHUTDOWN: {
          target: 'done',
          actions: enqueueActions(({ context, enqueue, self }) => {
            enqueue.cancel('tick');
            for (const id of [...context.tracker.pending.keys()]) abort(context, enqueue, id, 'discarded: the job ended first', false, true);
          }),
        },
      },
    },
    done: { type: 'final' },
  },
});

export type CheckpointCoordinatorMachine = typeof checkpointCoordinatorMachine;
