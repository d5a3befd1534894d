// The checkpoint coordinator actor: triggers checkpoints, collects acknowledgements, completes or aborts; its decisions are pure functions.
import { enqueueActions, setup, type ActionFunction, type AnyActorRef, type EventObject } from 'xstate';
import type { CheckpointStats, CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import {
  JOB_MASTER,
  taskSystemId,
  type AcknowledgeCheckpoint,
  type CheckpointAbortCause,
  type DeclineCheckpoint,
  type EndOfInput,
  type TaskFinalState,
  type TaskStateChanged,
  type ToTaskMessage,
} from '../checkpoint/control-messages.ts';
import type { SerializedError } from '../checkpoint/serialized-error.ts';
import type { CheckpointConfig } from '../config/checkpoint-config.ts';
import {
  decideAcknowledge,
  decideDecline,
  decideEndOfInput,
  decideFinalState,
  decideHold,
  decidePersisted,
  decidePersistFailed,
  decideRestored,
  decideShutdown,
  decideStart,
  decideSuspend,
  decideTaskState,
  decideTick,
  decideTimeout,
  decideTrigger,
  decideTriggerRefused,
  type StartEvent,
} from './checkpoint-decisions.ts';
import {
  initialCoordinatorState,
  type CheckpointRequest,
  type CoordinatorEffect,
  type CoordinatorState,
  type Decision,
} from './coordinator-state.ts';

export interface CoordinatorInput {
  config: CheckpointConfig;
  maxParallelism: number;
  /** the clock decisions read (a SimulatedClock's now() in specs) */
  now?: () => number;
  /** restore point carried across restarts */
  latest?: CompletedCheckpoint | null;
}

export type CoordinatorEvent =
  | ({ type: 'START' } & StartEvent)
  | { type: 'SUSPEND'; reason: string }
  | { type: 'SHUTDOWN' }
  | { type: 'TICK' }
  | { type: 'TRIGGER'; request: CheckpointRequest }
  | AcknowledgeCheckpoint
  | DeclineCheckpoint
  | TaskStateChanged
  | EndOfInput
  | TaskFinalState
  | { type: 'TIMEOUT'; checkpointId: number }
  /** stop/cancel with a savepoint: no periodic checkpoint may complete after the savepoint; RESUME if it fails */
  | { type: 'HOLD' }
  | { type: 'RESUME' }
  /** the persist step made it durable; `externalPointer`: where (a savepoint's directory) */
  | { type: 'PERSISTED'; checkpointId: number; externalPointer?: string }
  | { type: 'PERSIST_FAILED'; checkpointId: number; error: SerializedError }
  /** the job restored from `checkpoint` (a fallback, or a checkpoint loaded from disk): it is the restart point now */
  | { type: 'RESTORED'; checkpoint: CompletedCheckpoint };

/** What the coordinator reports to whoever runs it (the job master): events, as xstate's `emit`. */
export type CoordinatorEmitted =
  | { type: 'checkpoint-completed'; checkpoint: CompletedCheckpoint; stats: CheckpointStats }
  | { type: 'checkpoint-aborted'; checkpointId: number; cause: CheckpointAbortCause }
  /** a TRIGGER request with a requestId: its checkpoint, or why there is none */
  | { type: 'request-answered'; requestId: number; checkpoint?: CompletedCheckpoint; error?: SerializedError };

export type CoordinatorContext = CoordinatorState & { now: () => number };

type Params<T extends CoordinatorEffect['type']> = Extract<CoordinatorEffect, { type: T }> extends { params: infer P } ? P : never;

/** Sends `message` to each subtask's task actor of the attempt, found by its systemId. */
function sendToTasks(
  system: { get(id: string): AnyActorRef | undefined },
  subtasks: readonly string[],
  attempt: number,
  message: ToTaskMessage,
): void {
  for (const key of subtasks) system.get(taskSystemId(key, attempt))?.send(message);
}

/** Carries out a decision: the new state through assign, each effect as the named action (or delayed event) it stands for. */
function apply(decide: (context: CoordinatorContext, event: CoordinatorEvent) => Decision) {
  return enqueueActions<CoordinatorContext, CoordinatorEvent, undefined, CoordinatorEvent, never, never, never, never, CoordinatorEmitted>(
    ({ context, event, enqueue }) => {
      const { state, effects } = decide(context, event);
      // a function: assign's object form would call function-valued properties (the clock) as assigners
      if (state !== context) enqueue.assign(() => state);
      for (const effect of effects) {
        switch (effect.type) {
          case 'scheduleTick':
            enqueue.cancel('tick');
            enqueue.raise({ type: 'TICK' }, { id: 'tick', delay: effect.params.delay });
            break;
          case 'cancelTick':
            enqueue.cancel('tick');
            break;
          case 'scheduleTimeout':
            enqueue.raise(
              { type: 'TIMEOUT', checkpointId: effect.params.checkpointId },
              { id: `timeout-${effect.params.checkpointId}`, delay: effect.params.delay },
            );
            break;
          case 'cancelTimeout':
            enqueue.cancel(`timeout-${effect.params.checkpointId}`);
            break;
          case 'answerRequest':
            enqueue.emit({ type: 'request-answered', ...effect.params });
            break;
          case 'notifyCheckpointComplete':
            enqueue(effect as never);
            enqueue.emit({ type: 'checkpoint-completed', checkpoint: effect.params.checkpoint, stats: effect.params.stats });
            break;
          case 'notifyCheckpointAborted':
            enqueue(effect as never);
            enqueue.emit({ type: 'checkpoint-aborted', checkpointId: effect.params.checkpointId, cause: effect.params.cause });
            break;
          default:
            enqueue(effect as never);
        }
      }
    },
  );
}

type Action<P> = ActionFunction<CoordinatorContext, CoordinatorEvent, CoordinatorEvent, P, never, never, never, never, CoordinatorEmitted>;

/** Default implementations; the job master provides the storage ones (persist, discard) with `provide()`. */
const triggerCheckpoint: Action<Params<'triggerCheckpoint'>> = ({ system }, { attempt, checkpointId, timestamp, options, subtasks }) =>
  sendToTasks(system, subtasks, attempt, { type: 'TRIGGER_CHECKPOINT', attempt, checkpointId, timestamp, options });
const notifyCheckpointComplete: Action<Params<'notifyCheckpointComplete'>> = ({ system }, { attempt, subtasks, checkpoint }) =>
  sendToTasks(system, subtasks, attempt, { type: 'NOTIFY_CHECKPOINT_COMPLETE', attempt, checkpointId: checkpoint.id });
const notifyCheckpointAborted: Action<Params<'notifyCheckpointAborted'>> = ({ system }, { attempt, subtasks, checkpointId, cause }) =>
  sendToTasks(system, subtasks, attempt, { type: 'NOTIFY_CHECKPOINT_ABORTED', attempt, checkpointId, cause });
/** Without a persist step a fully acknowledged checkpoint is durable at once. */
const persistCheckpoint: Action<Params<'persistCheckpoint'>> = ({ self }, { checkpoint }) =>
  self.send({ type: 'PERSISTED', checkpointId: checkpoint.id });
const discardCheckpoint: Action<Params<'discardCheckpoint'>> = () => {};
/** More consecutive checkpoint failures than tolerated: the job master fails the job. */
const failJob: Action<Params<'failJob'>> = ({ system }, { error }) =>
  (system.get(JOB_MASTER) as AnyActorRef | undefined)?.send({ type: 'FAIL_JOB', error } as EventObject);

type EventOf<T extends CoordinatorEvent['type']> = Extract<CoordinatorEvent, { type: T }>;
/** The decision for events of type `T`, with the event narrowed. */
const on = <T extends CoordinatorEvent['type']>(decide: (c: CoordinatorContext, e: EventOf<T>) => Decision) =>
  apply((c, e) => decide(c, e as EventOf<T>));

export const checkpointCoordinatorMachine = setup({
  types: {
    context: {} as CoordinatorContext,
    events: {} as CoordinatorEvent,
    input: {} as CoordinatorInput,
    emitted: {} as CoordinatorEmitted,
  },
  actions: { triggerCheckpoint, notifyCheckpointComplete, notifyCheckpointAborted, persistCheckpoint, discardCheckpoint, failJob },
}).createMachine({
  id: 'checkpoint-coordinator',
  context: ({ input }) => ({
    ...initialCoordinatorState(input.config, input.maxParallelism, input.latest ?? null),
    now: input.now ?? Date.now,
  }),
  initial: 'stopped',
  on: {
    RESTORED: { actions: on<'RESTORED'>((c, e) => decideRestored(c, e.checkpoint)) },
    HOLD: { actions: on<'HOLD'>((c) => decideHold(c, true, false, c.now())) },
  },
  states: {
    stopped: {
      on: {
        START: { target: 'running', actions: on<'START'>((c, e) => decideStart(c, e, c.now())) },
        TRIGGER: { actions: on<'TRIGGER'>((c, e) => decideTriggerRefused(c, e.request)) },
        TASK_STATE_CHANGED: { actions: on<'TASK_STATE_CHANGED'>((c, e) => decideTaskState(c, e, false, c.now())) },
        END_OF_INPUT: { actions: on<'END_OF_INPUT'>((c, e) => decideEndOfInput(c, e, false, c.now())) },
        FINAL_STATE: { actions: on<'FINAL_STATE'>((c, e) => decideFinalState(c, e)) },
        RESUME: { actions: on<'RESUME'>((c) => decideHold(c, false, false, c.now())) },
        SHUTDOWN: 'done',
      },
    },
    running: {
      on: {
        TICK: { actions: on<'TICK'>((c) => decideTick(c, c.now())) },
        TRIGGER: { actions: on<'TRIGGER'>((c, e) => decideTrigger(c, e.request, c.now())) },
        ACKNOWLEDGE_CHECKPOINT: { actions: on<'ACKNOWLEDGE_CHECKPOINT'>((c, e) => decideAcknowledge(c, e, c.now())) },
        DECLINE_CHECKPOINT: { actions: on<'DECLINE_CHECKPOINT'>((c, e) => decideDecline(c, e, c.now())) },
        TIMEOUT: { actions: on<'TIMEOUT'>((c, e) => decideTimeout(c, e.checkpointId, c.now())) },
        TASK_STATE_CHANGED: { actions: on<'TASK_STATE_CHANGED'>((c, e) => decideTaskState(c, e, true, c.now())) },
        END_OF_INPUT: { actions: on<'END_OF_INPUT'>((c, e) => decideEndOfInput(c, e, true, c.now())) },
        FINAL_STATE: { actions: on<'FINAL_STATE'>((c, e) => decideFinalState(c, e)) },
        RESUME: { actions: on<'RESUME'>((c) => decideHold(c, false, true, c.now())) },
        PERSISTED: { actions: on<'PERSISTED'>((c, e) => decidePersisted(c, e.checkpointId, e.externalPointer, c.now())) },
        PERSIST_FAILED: { actions: on<'PERSIST_FAILED'>((c, e) => decidePersistFailed(c, e.checkpointId, e.error, c.now())) },
        SUSPEND: { target: 'stopped', actions: on<'SUSPEND'>((c, e) => decideSuspend(c, e.reason, c.now())) },
        SHUTDOWN: { target: 'done', actions: on<'SHUTDOWN'>((c) => decideShutdown(c, c.now())) },
      },
    },
    done: { type: 'final' },
  },
});

export type CheckpointCoordinatorMachine = typeof checkpointCoordinatorMachine;
