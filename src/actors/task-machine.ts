// The task actor's state machine: the one owner of a subtask's phase, deciding what each control message means in it.
import { and, assign, setup, type ActionFunction, type AnyActorRef, type EventObject } from 'xstate';
import {
  recipientsOf,
  type CancelTask,
  type DeployTask,
  type DrainTask,
  type FromTaskMessage,
  type NotifyCheckpointAborted,
  type NotifyCheckpointComplete,
  type TaskMetricsSample,
  type TaskPhase,
  type TriggerCheckpoint,
} from '../checkpoint/control-messages.ts';
import type { SerializedError } from '../checkpoint/serialized-error.ts';
import type { AbortReason } from './barrier-handler.ts';

export type { TaskMetricsSample };

export interface TaskMachineInput {
  taskName: string;
  vertexId: string;
  subtaskIndex: number;
  parallelism: number;
  attempt: number;
  /** a source task: it starts checkpoints when triggered; other tasks start them when barriers arrive */
  isSource: boolean;
  checkpointingEnabled: boolean;
}

/** What the task's runtime (input gate, checkpointer, operators) tells its machine. */
export type TaskRuntimeEvent =
  | { type: 'RESTORED' }
  | { type: 'ALIGNMENT_STARTED'; checkpointId: number }
  | { type: 'ALIGNED'; checkpointId: number }
  | { type: 'ALIGNMENT_ABORTED'; checkpointId: number; reason: AbortReason }
  | { type: 'SNAPSHOT_TAKEN'; checkpointId: number }
  /** the source is exhausted (or drained), or every input partition ended */
  | { type: 'INPUT_ENDED' }
  /** end of input went downstream; `dirty`: data was processed since the last snapshot */
  | { type: 'INPUT_FLUSHED'; dirty: boolean }
  | { type: 'CLOSED' }
  | { type: 'CANCELED' }
  | { type: 'FAIL'; error: SerializedError }
  /** sampled at most once a second: what data batches did, without one event per batch */
  | { type: 'METRICS'; sample: TaskMetricsSample };

/** The control messages a task receives. */
export type TaskControlEvent = DeployTask | TriggerCheckpoint | NotifyCheckpointComplete | NotifyCheckpointAborted | CancelTask | DrainTask;
export type TaskEvent = TaskControlEvent | TaskRuntimeEvent;

export interface TaskContext extends TaskMachineInput {
  /** the checkpoint being aligned or snapshotted (the inspector shows it) */
  checkpointId: number | null;
  restoredFrom: number | null;
  /** the newest checkpoint this task snapshotted */
  lastSnapshotId: number;
  /** finishing: the task finishes once a checkpoint >= this completes */
  finalCheckpointId: number;
  /** the newest checkpoint this task was told completed (it may come before the input ended was flushed) */
  lastCompletedId: number;
  /** a trigger that came while end of input was still being flushed: taken right after */
  deferredTrigger: TriggerCheckpoint | null;
  metrics: TaskMetricsSample;
  error: string | null;
}

type Runtime<P = undefined> = ActionFunction<TaskContext, TaskEvent, TaskEvent, P, never, never, never, never, never>;
/** The task's runtime does these; the Task provides them with `provide()` (here they do nothing). */
const runtime =
  <P = undefined>(): Runtime<P> =>
  () => {};

/** A control message to the job master and/or the coordinator, by systemId. */
function report(message: (context: TaskContext, event: TaskEvent) => FromTaskMessage): Runtime {
  return ({ context, event, system }) => {
    const m = message(context, event);
    for (const id of recipientsOf(m)) (system.get(id) as AnyActorRef | undefined)?.send(m as EventObject);
  };
}
const subtaskOf = (c: TaskContext) => ({ vertexId: c.vertexId, subtaskIndex: c.subtaskIndex });
const stateChanged = (state: TaskPhase) =>
  report((c) => ({ type: 'TASK_STATE_CHANGED', attempt: c.attempt, subtask: subtaskOf(c), state }));

const trigger = ({ event }: { event: TaskEvent }) => event as TriggerCheckpoint;
const notification = ({ event }: { event: TaskEvent }) => ({ checkpointId: (event as NotifyCheckpointComplete).checkpointId });

export const taskMachine = setup({
  types: {
    context: {} as TaskContext,
    events: {} as TaskEvent,
    input: {} as TaskMachineInput,
  },
  actions: {
    // ---- the runtime's part ----
    /** replays the restored in-flight data, then restores state and opens the operators: RESTORED or FAIL */
    deploy: runtime<DeployTask>(),
    /** the run loop may step this task */
    wake: runtime(),
    snapshotAtSource: runtime<TriggerCheckpoint>(),
    snapshotFinishing: runtime<TriggerCheckpoint>(),
    /** without periodic checkpointing: a savepoint that came while the input was flushed, its barrier ahead of end of partition */
    snapshotBeforeEndOfPartition: runtime<TriggerCheckpoint>(),
    /** without periodic checkpointing: the final snapshot, sent to the coordinator as the task's final state before it closes */
    snapshotFinal: runtime(),
    /** the task is not where a checkpoint can start (the runtime names its phase) */
    declineNotReady: runtime<{ checkpointId: number }>(),
    drain: runtime(),
    notifyComplete: runtime<{ checkpointId: number }>(),
    notifyAborted: runtime<{ checkpointId: number }>(),
    /** flushes the operators and sends end of partition downstream: INPUT_FLUSHED or FAIL */
    endInput: runtime(),
    /** waits for snapshots still being written, closes the operators: CLOSED or FAIL */
    close: runtime(),
    closeAfterFailure: runtime(),
    /** closes the operators (sinks abort open transactions): CANCELED */
    cancel: runtime(),
    // ---- what the task reports ----
    reportRunning: stateChanged('running'),
    reportFinishing: stateChanged('finishing'),
    reportFinished: stateChanged('finished'),
    reportCanceled: stateChanged('canceled'),
    reportFailed: report((c, e) => ({
      type: 'TASK_FAILED',
      attempt: c.attempt,
      subtask: subtaskOf(c),
      error: (e as Extract<TaskEvent, { type: 'FAIL' }>).error,
    })),
    reportMetrics: report((c, e) => ({
      type: 'TASK_METRICS',
      attempt: c.attempt,
      subtask: subtaskOf(c),
      sample: (e as Extract<TaskEvent, { type: 'METRICS' }>).sample,
    })),
    // ---- bookkeeping ----
    recordCheckpoint: assign({ checkpointId: ({ event }) => (event as { checkpointId: number }).checkpointId }),
    recordSnapshot: assign({ lastSnapshotId: ({ event }) => (event as { checkpointId: number }).checkpointId }),
    recordCompleted: assign({
      lastCompletedId: ({ context, event }) => Math.max(context.lastCompletedId, (event as NotifyCheckpointComplete).checkpointId),
    }),
    /** a snapshot taken after the input ended holds the final state */
    recordFinishingSnapshot: assign(({ context, event }) => {
      const id = (event as { checkpointId: number }).checkpointId;
      return { lastSnapshotId: id, finalCheckpointId: Math.min(context.finalCheckpointId, id) };
    }),
    deferTrigger: assign({ deferredTrigger: ({ event }) => event as TriggerCheckpoint }),
    /** nothing processed since the last snapshot: that snapshot already holds the final state */
    recordFlushed: assign(({ context, event }) => ({
      finalCheckpointId: (event as Extract<TaskEvent, { type: 'INPUT_FLUSHED' }>).dirty
        ? context.finalCheckpointId
        : Math.min(context.finalCheckpointId, context.lastSnapshotId),
    })),
    recordFailure: assign({ error: ({ event }) => (event as Extract<TaskEvent, { type: 'FAIL' }>).error.message }),
    recordMetrics: assign({ metrics: ({ event }) => (event as Extract<TaskEvent, { type: 'METRICS' }>).sample }),
  },
  guards: {
    isSource: ({ context }) => context.isSource,
    checkpointingDisabled: ({ context }) => !context.checkpointingEnabled,
    /** a checkpoint newer than the last one this task snapshotted */
    isNewCheckpoint: ({ context, event }) => (event as TriggerCheckpoint).checkpointId > context.lastSnapshotId,
    hasNewDeferredTrigger: ({ context }) =>
      context.deferredTrigger !== null && context.deferredTrigger.checkpointId > context.lastSnapshotId,
    completesFinalCheckpoint: ({ context, event }) => (event as NotifyCheckpointComplete).checkpointId >= context.finalCheckpointId,
    /** the checkpoint holding the final state completed before the task began to wait for it */
    finalCheckpointCompleted: ({ context }) => context.lastCompletedId >= context.finalCheckpointId,
  },
}).createMachine({
  id: 'task',
  context: ({ input }) => ({
    ...input,
    checkpointId: null,
    restoredFrom: null,
    lastSnapshotId: 0,
    finalCheckpointId: Number.POSITIVE_INFINITY,
    lastCompletedId: 0,
    deferredTrigger: null,
    metrics: {
      recordsIn: 0,
      recordsOut: 0,
      backpressured: false,
      busyTimeMsPerSecond: 0,
      backPressuredTimeMsPerSecond: 0,
      idleTimeMsPerSecond: 1000,
      sampledAt: 0,
    },
    error: null,
  }),
  initial: 'created',
  on: {
    METRICS: { actions: ['recordMetrics', 'reportMetrics'] },
    // wherever no state takes it: the task cannot start a checkpoint now
    TRIGGER_CHECKPOINT: { actions: { type: 'declineNotReady', params: ({ event }) => ({ checkpointId: event.checkpointId }) } },
  },
  states: {
    created: {
      on: {
        DEPLOY_TASK: { target: 'restoring', actions: assign({ restoredFrom: ({ event }) => event.restore?.checkpointId ?? null }) },
        CANCEL_TASK: 'canceled',
        FAIL: { target: 'failed', actions: 'recordFailure' },
      },
    },
    // in-flight data replayed before any producer sends new data, then state restored and operators opened
    restoring: {
      entry: { type: 'deploy', params: ({ event }) => event as DeployTask },
      on: { RESTORED: 'running', FAIL: { target: 'failed', actions: 'recordFailure' }, CANCEL_TASK: 'canceling' },
    },
    running: {
      entry: ['reportRunning', 'wake'],
      initial: 'processing',
      on: {
        TRIGGER_CHECKPOINT: [
          { guard: 'isSource', target: '.snapshotting', actions: ['recordCheckpoint', { type: 'snapshotAtSource', params: trigger }] },
          { actions: { type: 'declineNotReady', params: ({ event }) => ({ checkpointId: event.checkpointId }) } },
        ],
        SNAPSHOT_TAKEN: { actions: 'recordSnapshot' },
        NOTIFY_CHECKPOINT_COMPLETE: { actions: ['recordCompleted', { type: 'notifyComplete', params: notification }] },
        NOTIFY_CHECKPOINT_ABORTED: { actions: { type: 'notifyAborted', params: notification } },
        DRAIN_TASK: { actions: 'drain' },
        INPUT_ENDED: 'finishing',
        FAIL: { target: 'failed', actions: 'recordFailure' },
        CANCEL_TASK: 'canceling',
      },
      states: {
        processing: {
          on: { ALIGNMENT_STARTED: { target: 'aligning', actions: 'recordCheckpoint' } },
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
          on: { SNAPSHOT_TAKEN: { target: 'processing', actions: 'recordSnapshot' } },
        },
      },
    },
    // input ended: end of input goes downstream, then the final checkpoint completes so sinks can commit
    finishing: {
      entry: 'endInput',
      initial: 'flushing',
      on: {
        FAIL: { target: 'failed', actions: 'recordFailure' },
        CANCEL_TASK: 'canceling',
      },
      states: {
        flushing: {
          on: {
            TRIGGER_CHECKPOINT: { actions: 'deferTrigger' },
            NOTIFY_CHECKPOINT_COMPLETE: { actions: ['recordCompleted', { type: 'notifyComplete', params: notification }] },
            NOTIFY_CHECKPOINT_ABORTED: { actions: { type: 'notifyAborted', params: notification } },
            SNAPSHOT_TAKEN: { actions: 'recordSnapshot' },
            INPUT_FLUSHED: [
              // no final checkpoint to wait for: a savepoint that came meanwhile is taken now; the final snapshot makes
              // the task's final state known to the coordinator, then the task closes
              {
                guard: and(['checkpointingDisabled', 'hasNewDeferredTrigger']),
                target: 'closing',
                actions: [
                  { type: 'snapshotBeforeEndOfPartition', params: ({ context }) => context.deferredTrigger! },
                  'recordFlushed',
                  'snapshotFinal',
                ],
              },
              { guard: 'checkpointingDisabled', target: 'closing', actions: 'snapshotFinal' },
              {
                guard: 'hasNewDeferredTrigger',
                target: 'waiting',
                actions: [
                  'recordFlushed',
                  { type: 'snapshotFinishing', params: ({ context }) => context.deferredTrigger! },
                  'reportFinishing',
                ],
              },
              { target: 'waiting', actions: ['recordFlushed', 'reportFinishing'] },
            ],
          },
        },
        // a barrier can no longer reach it: the coordinator triggers checkpoints here directly
        waiting: {
          // nothing was processed since a snapshot whose checkpoint completed while the input was flushed: no
          // later checkpoint is needed (waiting for one cost up to a checkpoint interval at the end of every job)
          always: { guard: 'finalCheckpointCompleted', target: 'closing' },
          on: {
            TRIGGER_CHECKPOINT: [
              { guard: 'isNewCheckpoint', actions: ['recordCheckpoint', { type: 'snapshotFinishing', params: trigger }] },
              {},
            ],
            SNAPSHOT_TAKEN: { actions: 'recordFinishingSnapshot' },
            NOTIFY_CHECKPOINT_COMPLETE: [
              { guard: 'completesFinalCheckpoint', target: 'closing', actions: { type: 'notifyComplete', params: notification } },
              { actions: { type: 'notifyComplete', params: notification } },
            ],
            NOTIFY_CHECKPOINT_ABORTED: { actions: { type: 'notifyAborted', params: notification } },
          },
        },
        closing: {
          entry: 'close',
          on: {
            CLOSED: '#task.finished',
            // its final state is in its final checkpoint (or, without checkpointing, its final snapshot): once finished,
            // the coordinator acknowledges later checkpoints with that state (declining failed the checkpoint or
            // savepoint that happened to start as the task closed)
            TRIGGER_CHECKPOINT: {},
          },
        },
      },
    },
    finished: { type: 'final', entry: 'reportFinished' },
    failed: { type: 'final', entry: ['closeAfterFailure', 'reportFailed'] },
    canceling: {
      entry: 'cancel',
      on: { CANCELED: 'canceled' },
    },
    canceled: { type: 'final', entry: 'reportCanceled' },
  },
});

export type TaskMachine = typeof taskMachine;

/** The phase a task's machine state stands for (what the job master and the REST API see). */
export function phaseOf(value: unknown): TaskPhase {
  const top = typeof value === 'string' ? value : Object.keys(value as object)[0];
  switch (top) {
    case 'restoring':
      return 'deploying';
    case 'canceling':
      return 'canceled';
    default:
      return top as TaskPhase;
  }
}
