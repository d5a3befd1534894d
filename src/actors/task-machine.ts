// The task actor's state machine: lifecycle and checkpoint phases of one subtask, as the inspector shows them.
import { assign, setup } from 'xstate';

export interface TaskMachineInput {
  taskName: string;
  vertexId: string;
  subtaskIndex: number;
  parallelism: number;
  attempt: number;
}

export interface TaskMetricsSample {
  recordsIn: number;
  recordsOut: number;
  /** the task wanted to emit but its output channels had no credit */
  backpressured: boolean;
}

export type TaskEvent =
  | { type: 'DEPLOY' }
  | { type: 'RESTORE'; checkpointId: number | null }
  | { type: 'RESTORED' }
  | { type: 'ALIGNMENT_STARTED'; checkpointId: number }
  | { type: 'ALIGNED'; checkpointId: number }
  | { type: 'ALIGNMENT_ABORTED'; checkpointId: number; reason: string }
  | { type: 'SNAPSHOT'; checkpointId: number }
  | { type: 'SNAPSHOT_TAKEN'; checkpointId: number }
  | { type: 'END_OF_INPUT' }
  | { type: 'FINISHED' }
  | { type: 'FAIL'; error: string }
  | { type: 'CANCEL' }
  | { type: 'CANCELED' }
  /** sampled at most once a second: what data batches did, without one event per batch */
  | { type: 'METRICS'; sample: TaskMetricsSample };

export interface TaskContext extends TaskMachineInput {
  checkpointId: number | null;
  restoredFrom: number | null;
  metrics: TaskMetricsSample;
  error: string | null;
}

export const taskMachine = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskEvent,
    input: {} as TaskMachineInput,
  },
  actions: {
    recordCheckpoint: assign({
      checkpointId: ({ event }) => ('checkpointId' in event ? (event.checkpointId as number) : null),
    }),
    recordFailure: assign({ error: ({ event }) => (event.type === 'FAIL' ? event.error : null) }),
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => ({
    ...input,
    checkpointId: null,
    restoredFrom: null,
    metrics: { recordsIn: 0, recordsOut: 0, backpressured: false },
    error: null,
  }),
  initial: 'created',
  on: {
    METRICS: { actions: assign({ metrics: ({ event }) => event.sample }) },
  },
  states: {
    created: {
      on: { DEPLOY: 'deploying', CANCEL: 'canceled', FAIL: { target: 'failed', actions: 'recordFailure' } },
    },
    deploying: {
      on: {
        RESTORE: { target: 'restoring', actions: assign({ restoredFrom: ({ event }) => event.checkpointId }) },
        FAIL: { target: 'failed', actions: 'recordFailure' },
        CANCEL: 'canceling',
      },
    },
    restoring: {
      on: { RESTORED: 'running', FAIL: { target: 'failed', actions: 'recordFailure' }, CANCEL: 'canceling' },
    },
    running: {
      initial: 'processing',
      on: {
        END_OF_INPUT: 'finishing',
        FAIL: { target: 'failed', actions: 'recordFailure' },
        CANCEL: 'canceling',
      },
      states: {
        processing: {
          on: {
            ALIGNMENT_STARTED: { target: 'aligning', actions: 'recordCheckpoint' },
            SNAPSHOT: { target: 'snapshotting', actions: 'recordCheckpoint' },
          },
        },
        // Flink's barrier handler: collecting barriers until every input channel delivered one
        aligning: {
          on: {
            ALIGNED: 'snapshotting',
            ALIGNMENT_ABORTED: 'processing',
            ALIGNMENT_STARTED: { target: 'aligning', reenter: true, actions: 'recordCheckpoint' },
          },
        },
        // synchronous part of the snapshot; the asynchronous part runs on while processing resumes
        snapshotting: {
          on: { SNAPSHOT_TAKEN: 'processing' },
        },
      },
    },
    // input ended: waiting for the final checkpoint to complete so sinks can commit
    finishing: {
      on: {
        SNAPSHOT: { actions: 'recordCheckpoint' },
        FINISHED: 'finished',
        FAIL: { target: 'failed', actions: 'recordFailure' },
        CANCEL: 'canceling',
      },
    },
    finished: { type: 'final' },
    failed: { type: 'final' },
    canceling: { on: { CANCELED: 'canceled' } },
    canceled: { type: 'final' },
  },
});

export type TaskMachine = typeof taskMachine;
