// The job master's state machine: job status (Flink's JobStatus) across failures and restarts.
import { setup } from 'xstate';

export type JobStatus = 'CREATED' | 'RUNNING' | 'RESTARTING' | 'FAILING' | 'FAILED' | 'CANCELLING' | 'CANCELED' | 'STOPPING' | 'FINISHED';

export interface JobMasterActions {
  deploy(): void;
  /** cancels the running attempt; resolves the event ATTEMPT_STOPPED */
  stopAttempt(reason: string): void;
  /** decides after a failure: ms to wait before restarting, or null to fail the job */
  restartDelay(): number | null;
  finish(): void;
  fail(): void;
  canceled(): void;
}

export type JobMasterEvent =
  | { type: 'START' }
  | { type: 'TASK_FAILED'; error: unknown }
  | { type: 'FAIL_JOB'; error: unknown }
  | { type: 'ALL_FINISHED' }
  | { type: 'ATTEMPT_STOPPED' }
  | { type: 'CANCEL' }
  /** stop with a savepoint: the savepoint is taken, the attempt is stopped, the job ends FINISHED */
  | { type: 'STOP' };

interface Context {
  actions: JobMasterActions;
  restartDelay: number;
}

export const jobMasterMachine = setup({
  types: {
    context: {} as Context,
    events: {} as JobMasterEvent,
    input: {} as { actions: JobMasterActions },
  },
  guards: {
    canRestart: ({ context }) => {
      const delay = context.actions.restartDelay();
      if (delay === null) return false;
      context.restartDelay = delay;
      return true;
    },
  },
  delays: {
    restartDelay: ({ context }) => context.restartDelay,
  },
}).createMachine({
  id: 'job-master',
  context: ({ input }) => ({ actions: input.actions, restartDelay: 0 }),
  initial: 'CREATED',
  states: {
    CREATED: {
      on: { START: 'RUNNING', CANCEL: 'CANCELED' },
    },
    RUNNING: {
      entry: ({ context }) => context.actions.deploy(),
      on: {
        TASK_FAILED: [{ guard: 'canRestart', target: 'RESTARTING' }, { target: 'FAILING' }],
        FAIL_JOB: 'FAILING',
        ALL_FINISHED: 'FINISHED',
        CANCEL: 'CANCELLING',
        STOP: 'STOPPING',
      },
    },
    STOPPING: {
      entry: ({ context }) => context.actions.stopAttempt('job stopped with a savepoint'),
      on: { ATTEMPT_STOPPED: 'FINISHED', TASK_FAILED: {}, FAIL_JOB: {}, CANCEL: {}, STOP: {} },
    },
    // cancel every task, wait, then redeploy from the latest completed checkpoint
    RESTARTING: {
      entry: ({ context }) => context.actions.stopAttempt('restarting after a task failure'),
      initial: 'stopping',
      states: {
        stopping: { on: { ATTEMPT_STOPPED: 'waiting' } },
        waiting: { after: { restartDelay: '#job-master.RUNNING' } },
      },
      on: { CANCEL: 'CANCELLING', STOP: 'STOPPING', TASK_FAILED: {}, FAIL_JOB: 'FAILING' },
    },
    FAILING: {
      entry: ({ context }) => context.actions.stopAttempt('job failing'),
      on: { ATTEMPT_STOPPED: 'FAILED', TASK_FAILED: {}, FAIL_JOB: {}, CANCEL: {} },
    },
    CANCELLING: {
      entry: ({ context }) => context.actions.stopAttempt('job canceled'),
      on: { ATTEMPT_STOPPED: 'CANCELED', TASK_FAILED: {}, FAIL_JOB: {}, CANCEL: {} },
    },
    FINISHED: { type: 'final', entry: ({ context }) => context.actions.finish() },
    FAILED: { type: 'final', entry: ({ context }) => context.actions.fail() },
    CANCELED: { type: 'final', entry: ({ context }) => context.actions.canceled() },
  },
});
