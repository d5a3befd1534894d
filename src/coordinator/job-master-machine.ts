// The job master's state machine: job status (Flink's JobStatus) across failures and restarts; the restart decision is a pure function of its context.
import { and, assign, emit, setup, type AnyActorRef, type EventObject } from 'xstate';
import {
  CHECKPOINT_COORDINATOR,
  type EndOfInput,
  type TaskFailed,
  type TaskMetrics,
  type TaskMetricsSample,
  type TaskPhase,
  type TaskStateChanged,
} from '../checkpoint/control-messages.ts';
import { serializeError, type SerializedError } from '../checkpoint/serialized-error.ts';
import { subtaskKey, type SubtaskId } from '../checkpoint/types.ts';
import type { RestartStrategy } from './restart-strategy.ts';

export type JobStatus = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'FAILING' | 'FAILED' | 'CANCELLING' | 'CANCELED' | 'STOPPING' | 'FINISHED';

/** The tasks of one execution attempt, as deployed. */
export interface AttemptPlan {
  attempt: number;
  /** subtask keys (vertex#index) of every task */
  subtasks: string[];
  /** subtask keys of the source tasks */
  sources: string[];
  /** vertex id -> parallelism */
  parallelism: Record<string, number>;
  /** subtask key -> task name, for messages people read */
  names?: Record<string, string>;
  /** the checkpoint (or savepoint) the attempt restores from */
  restoredFrom: number | null;
}

export type JobMasterEvent =
  | { type: 'START' }
  /** the attempt's tasks exist and are being deployed */
  | { type: 'ATTEMPT_DEPLOYED'; plan: AttemptPlan }
  | TaskStateChanged
  | TaskFailed
  | EndOfInput
  | TaskMetrics
  /** fail the job without a restart: too many checkpoint failures, no restore point */
  | { type: 'FAIL_JOB'; error: SerializedError }
  | { type: 'ATTEMPT_STOPPED' }
  | { type: 'CANCEL' }
  /** stop with a savepoint: the savepoint is taken, the attempt is stopped, the job ends FINISHED */
  | { type: 'STOP' }
  /** an actor of the job's system (a task, the coordinator) threw: a fault of floe's, the job fails rather than hang */
  | { type: `xstate.error.actor.${string}`; error: unknown };

/** What the job master reports (xstate `emit`); the JobMaster re-emits them as its JobEvents. */
export type JobMasterEmitted =
  | { type: 'running'; attempt: number; restoredFrom: number | null }
  | { type: 'task-failed'; subtask: SubtaskId; error: SerializedError; attempt: number }
  | { type: 'restarting'; delayMs: number; attempt: number }
  | { type: 'end-of-input'; subtask: SubtaskId };

export interface JobMasterInput {
  restartStrategy: RestartStrategy;
  /** the clock failures are timed on (a SimulatedClock's now() in specs) */
  now?: () => number;
}

export interface JobMasterContext {
  restartStrategy: RestartStrategy;
  now: () => number;
  /** the restart strategy's state: what it remembers of earlier failures */
  restartState: unknown;
  /** the attempt being deployed or run; -1 before the first */
  attempt: number;
  plan: AttemptPlan | null;
  /** the current attempt's tasks, by subtask key */
  tasks: Record<string, TaskPhase>;
  metrics: Record<string, TaskMetricsSample>;
  restarts: number;
  /** the last failure decision: ms before restarting, or null to fail the job */
  restartDelay: number | null;
  /** what failed the job, or the attempt last */
  failure: SerializedError | null;
}

/**
 * The restart decision for a task failure, pure: a failure restarting cannot fix fails the job at
 * once (Flink's SuppressRestartsException); otherwise the restart strategy decides from its state.
 */
export function decideRestart(
  context: JobMasterContext,
  error: SerializedError,
  now: number,
): Pick<JobMasterContext, 'restartState' | 'restartDelay' | 'restarts'> {
  if (error.unrecoverable) return { restartState: context.restartState, restartDelay: null, restarts: context.restarts };
  const { delayMs, state } = context.restartStrategy.decide(context.restartState, now);
  return { restartState: state, restartDelay: delayMs, restarts: context.restarts + (delayMs === null ? 0 : 1) };
}

type TaskMessage = TaskStateChanged | TaskFailed | EndOfInput | TaskMetrics;

/** The task phases with this message counted. */
const phasesWith = (context: JobMasterContext, m: TaskStateChanged) => ({ ...context.tasks, [subtaskKey(m.subtask)]: m.state });
/** Every task of the attempt is in `phase` once this message is counted. */
function allIn(context: JobMasterContext, m: TaskStateChanged, phase: TaskPhase): boolean {
  const plan = context.plan;
  if (!plan || m.state !== phase) return false;
  const tasks = phasesWith(context, m);
  return plan.subtasks.every((k) => tasks[k] === phase);
}

const STARTED: ReadonlySet<TaskPhase> = new Set<TaskPhase>(['running', 'finishing', 'finished']);
/**
 * Every task of the attempt runs or ran, for the first time once this message is counted: a bounded
 * source may end its input (finishing) before the last task of the attempt runs.
 */
function allStarted(context: JobMasterContext, m: TaskStateChanged): boolean {
  const plan = context.plan;
  if (!plan || !STARTED.has(m.state)) return false;
  const tasks = phasesWith(context, m);
  const started = (phases: Record<string, TaskPhase | undefined>) => plan.subtasks.every((k) => STARTED.has(phases[k]!));
  return started(tasks) && !started(context.tasks);
}

export const jobMasterMachine = setup({
  types: {
    context: {} as JobMasterContext,
    events: {} as JobMasterEvent,
    input: {} as JobMasterInput,
    emitted: {} as JobMasterEmitted,
  },
  actions: {
    /** builds and deploys the attempt's tasks (the JobMaster provides it) */
    deployAttempt: (_, _params: { attempt: number }) => {},
    /** cancels the running attempt; answers with ATTEMPT_STOPPED (the JobMaster provides it) */
    stopAttempt: (_, _params: { reason: string }) => {},
    /** the job reached a terminal status (the JobMaster provides it) */
    endJob: (_, _params: { status: JobStatus }) => {},
    /** every task runs: the coordinator may trigger checkpoints of this attempt */
    startCheckpointing: ({ context, system }) => {
      const plan = context.plan!;
      const start = {
        type: 'START',
        attempt: plan.attempt,
        expected: plan.subtasks,
        sources: plan.sources,
        parallelism: plan.parallelism,
        names: plan.names,
      };
      (system.get(CHECKPOINT_COORDINATOR) as AnyActorRef | undefined)?.send(start as EventObject);
    },
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1, plan: null, tasks: {} }),
    recordPlan: assign({ plan: ({ event }) => (event as Extract<JobMasterEvent, { type: 'ATTEMPT_DEPLOYED' }>).plan }),
    recordTaskState: assign({ tasks: ({ context, event }) => phasesWith(context, event as TaskStateChanged) }),
    recordMetrics: assign({
      metrics: ({ context, event }) => {
        const m = event as TaskMetrics;
        return { ...context.metrics, [subtaskKey(m.subtask)]: m.sample };
      },
    }),
    /** the decision, made once: the guards below only read it */
    decideRestart: assign(({ context, event }) => ({
      ...decideRestart(context, (event as TaskFailed).error, context.now()),
      failure: (event as TaskFailed).error,
    })),
    recordJobFailure: assign({ failure: ({ event }) => (event as Extract<JobMasterEvent, { type: 'FAIL_JOB' }>).error }),
    recordActorError: assign({ failure: ({ event }) => serializeError((event as { error: unknown }).error) }),
    reportRunning: emit(({ context }) => ({
      type: 'running' as const,
      attempt: context.attempt,
      restoredFrom: context.plan?.restoredFrom ?? null,
    })),
    reportTaskFailed: emit(({ context, event }) => {
      const m = event as TaskFailed;
      return { type: 'task-failed' as const, subtask: m.subtask, error: m.error, attempt: context.attempt };
    }),
    reportRestarting: emit(({ context }) => ({
      type: 'restarting' as const,
      delayMs: context.restartDelay!,
      attempt: context.attempt + 1,
    })),
    reportEndOfInput: emit(({ event }) => ({ type: 'end-of-input' as const, subtask: (event as EndOfInput | TaskStateChanged).subtask })),
  },
  guards: {
    /** a message of an attempt that is no longer (or not yet) the current one */
    isStale: ({ context, event }) => (event as TaskMessage).attempt !== context.attempt,
    allFinished: ({ context, event }) => allIn(context, event as TaskStateChanged, 'finished'),
    allStarted: ({ context, event }) => allStarted(context, event as TaskStateChanged),
    inputEnded: ({ event }) => (event as TaskStateChanged).state === 'finishing',
    restartGranted: ({ context }) => context.restartDelay !== null,
  },
  delays: {
    restartDelay: ({ context }) => context.restartDelay ?? 0,
  },
}).createMachine({
  id: 'job-master',
  context: ({ input }) => ({
    restartStrategy: input.restartStrategy,
    now: input.now ?? Date.now,
    restartState: input.restartStrategy.initialState,
    attempt: -1,
    plan: null,
    tasks: {},
    metrics: {},
    restarts: 0,
    restartDelay: null,
    failure: null,
  }),
  initial: 'CREATED',
  states: {
    CREATED: {
      on: { START: 'RUNNING', CANCEL: 'CANCELED' },
    },
    RUNNING: {
      entry: ['nextAttempt', { type: 'deployAttempt', params: ({ context }) => ({ attempt: context.attempt }) }],
      on: {
        ATTEMPT_DEPLOYED: { guard: ({ context, event }) => event.plan.attempt === context.attempt, actions: 'recordPlan' },
        TASK_STATE_CHANGED: [
          { guard: 'isStale' },
          { guard: 'allFinished', target: 'FINISHED', actions: 'recordTaskState' },
          {
            guard: and(['allStarted', 'inputEnded']),
            actions: ['recordTaskState', 'startCheckpointing', 'reportRunning', 'reportEndOfInput'],
          },
          { guard: 'allStarted', actions: ['recordTaskState', 'startCheckpointing', 'reportRunning'] },
          { guard: 'inputEnded', actions: ['recordTaskState', 'reportEndOfInput'] },
          { actions: 'recordTaskState' },
        ],
        END_OF_INPUT: [{ guard: 'isStale' }, { actions: 'reportEndOfInput' }],
        TASK_METRICS: [{ guard: 'isStale' }, { actions: 'recordMetrics' }],
        TASK_FAILED: [{ guard: 'isStale' }, { target: 'FAILOVER', actions: ['reportTaskFailed', 'decideRestart'] }],
        FAIL_JOB: { target: 'FAILING', actions: 'recordJobFailure' },
        'xstate.error.actor.*': { target: 'FAILING', actions: 'recordActorError' },
        CANCEL: 'CANCELLING',
        STOP: 'STOPPING',
      },
    },
    // not a status: the restart decision made on the way in routes the job on at once
    FAILOVER: {
      always: [{ guard: 'restartGranted', target: 'RESTARTING', actions: 'reportRestarting' }, { target: 'FAILING' }],
    },
    STOPPING: {
      entry: { type: 'stopAttempt', params: { reason: 'job stopped with a savepoint' } },
      on: { ATTEMPT_STOPPED: 'FINISHED' },
    },
    // cancel every task, wait, then redeploy from the latest completed checkpoint
    RESTARTING: {
      entry: { type: 'stopAttempt', params: { reason: 'restarting after a task failure' } },
      initial: 'stopping',
      states: {
        stopping: { on: { ATTEMPT_STOPPED: 'waiting' } },
        waiting: { after: { restartDelay: '#job-master.RUNNING' } },
      },
      on: { CANCEL: 'CANCELLING', STOP: 'STOPPING', FAIL_JOB: { target: 'FAILING', actions: 'recordJobFailure' } },
    },
    FAILING: {
      entry: { type: 'stopAttempt', params: { reason: 'job failing' } },
      on: { ATTEMPT_STOPPED: 'FAILED' },
    },
    CANCELLING: {
      entry: { type: 'stopAttempt', params: { reason: 'job canceled' } },
      on: { ATTEMPT_STOPPED: 'CANCELED' },
    },
    FINISHED: { type: 'final', entry: { type: 'endJob', params: { status: 'FINISHED' } } },
    FAILED: { type: 'final', entry: { type: 'endJob', params: { status: 'FAILED' } } },
    CANCELED: { type: 'final', entry: { type: 'endJob', params: { status: 'CANCELED' } } },
  },
});

export type JobMasterMachine = typeof jobMasterMachine;
