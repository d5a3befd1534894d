// The control protocol: every message between a task and its job master or checkpoint coordinator, one typed union.
import type { OperatorState } from './completed-checkpoint.ts';
import type { SerializedError } from './serialized-error.ts';
import type { ChannelStateSnapshot, TaskStateSnapshot } from './state-handles.ts';
import { subtaskKey, type CheckpointOptions, type SubtaskCheckpointMetrics, type SubtaskId } from './types.ts';

/**
 * A task's lifecycle phase as the job master sees it (and the REST API shows it). The task actor's
 * machine has finer states (`running.aligning`, `finishing.closing`, ...); this is their summary.
 */
export type TaskPhase = 'created' | 'deploying' | 'running' | 'finishing' | 'finished' | 'failed' | 'canceled';

/** What a task restores from: the checkpoint's state of the operators of its chain. */
export interface TaskRestore {
  checkpointId: number;
  /** operator uid -> state of every subtask that took it (a rescaled task picks its key groups from all of them) */
  operators: Record<string, OperatorState>;
  /** unaligned checkpoints: in-flight data of this task's head operator, by `<uid>#<subtask index>` */
  channelState?: Record<string, ChannelStateSnapshot>;
}

/** Sampled at most once a second: what data batches did, without one message per batch. */
export interface TaskMetricsSample {
  recordsIn: number;
  recordsOut: number;
  /** the task wanted to emit but its output channels had no credit */
  backpressured: boolean;
  /** Flink's busyTimeMsPerSecond, backPressuredTimeMsPerSecond, idleTimeMsPerSecond over the last window (sum 1000) */
  busyTimeMsPerSecond: number;
  backPressuredTimeMsPerSecond: number;
  idleTimeMsPerSecond: number;
  /** wall clock of the sample, ms: a task that stopped stepping sends none, so readers see it is stale */
  sampledAt: number;
  /** event time: the minimum watermark over the task's inputs (null for a source; absent before any sample had it) */
  currentInputWatermark?: number | null;
  /** event time: the last watermark the task sent downstream */
  currentOutputWatermark?: number;
  /** records its window operators dropped as too late (no side output for late data): Flink's numLateRecordsDropped */
  numLateRecordsDropped?: number;
}

/** Why a checkpoint was aborted, one code per cause (as Flink's CheckpointFailureReason). */
export type CheckpointAbortCode =
  /** not every task acknowledged within execution.checkpointing.timeout (counted) */
  | 'FLOE_CHECKPOINT_EXPIRED'
  /** a newer checkpoint completed first (not counted) */
  | 'FLOE_CHECKPOINT_SUBSUMED'
  /** a task declined it; the task's cause is kept (counted unless the cause is another failure) */
  | 'FLOE_CHECKPOINT_DECLINED'
  /** fully acknowledged but its `_metadata` (or savepoint directory) could not be written (counted) */
  | 'FLOE_CHECKPOINT_PERSIST_FAILED'
  /** the job failed, restarted or stopped while it was pending (not counted) */
  | 'FLOE_CHECKPOINT_JOB_SUSPENDED'
  /** still pending when the job ended: discarded, nothing went wrong with it */
  | 'FLOE_CHECKPOINT_DISCARDED'
  /** without periodic checkpointing, a task finished and its final state is not known (a task behind a source, or a source whose final snapshot failed; not counted) */
  | 'FLOE_CHECKPOINT_TASK_FINISHED';

export interface CheckpointAbortCause {
  code: CheckpointAbortCode;
  message: string;
  /** what caused it: a decline's cause, a failed write */
  cause?: SerializedError;
}

// ---- job master / coordinator -> task ----

/** Deploy: restore state (if any), open the operators, run. */
export interface DeployTask {
  type: 'DEPLOY_TASK';
  attempt: number;
  restore: TaskRestore | null;
}

/** To the tasks that start a checkpoint: running sources, and tasks whose input has ended. */
export interface TriggerCheckpoint {
  type: 'TRIGGER_CHECKPOINT';
  attempt: number;
  checkpointId: number;
  /** wall clock at trigger, ms */
  timestamp: number;
  options: CheckpointOptions;
}

/** The checkpoint is complete (durable): sinks commit, a finishing task may finish. */
export interface NotifyCheckpointComplete {
  type: 'NOTIFY_CHECKPOINT_COMPLETE';
  attempt: number;
  checkpointId: number;
}

export interface NotifyCheckpointAborted {
  type: 'NOTIFY_CHECKPOINT_ABORTED';
  attempt: number;
  checkpointId: number;
  cause: CheckpointAbortCause;
}

/** Cancel: close the operators (sinks abort their open transactions) and stop. */
export interface CancelTask {
  type: 'CANCEL_TASK';
  attempt: number;
}

/** stop --drain: a running source ends its input at its next step; other tasks ignore it. */
export interface DrainTask {
  type: 'DRAIN_TASK';
  attempt: number;
}

// ---- task -> coordinator / job master ----

/** The task's snapshot of a checkpoint is durable (sent when its asynchronous part is done). */
export interface AcknowledgeCheckpoint {
  type: 'ACKNOWLEDGE_CHECKPOINT';
  attempt: number;
  subtask: SubtaskId;
  checkpointId: number;
  state: TaskStateSnapshot;
  metrics: SubtaskCheckpointMetrics;
  /** unaligned checkpoints: the in-flight data this subtask persisted, if any */
  channelState?: ChannelStateSnapshot;
}

/** The task gives up on a checkpoint; the cause always has a code. */
export interface DeclineCheckpoint {
  type: 'DECLINE_CHECKPOINT';
  attempt: number;
  subtask: SubtaskId;
  checkpointId: number;
  cause: SerializedError;
}

export interface TaskStateChanged {
  type: 'TASK_STATE_CHANGED';
  attempt: number;
  subtask: SubtaskId;
  state: TaskPhase;
}

export interface TaskFailed {
  type: 'TASK_FAILED';
  attempt: number;
  subtask: SubtaskId;
  error: SerializedError;
}

/** A source's input is exhausted (with checkpointing: it runs on until its final checkpoint's barrier went out). Other tasks report `finishing`. */
export interface EndOfInput {
  type: 'END_OF_INPUT';
  attempt: number;
  subtask: SubtaskId;
}

/**
 * Without periodic checkpointing, a task whose input ended and was flushed: its final state (the snapshot a final
 * checkpoint would take), sent before it reports finished, so savepoints taken after it finished hold it (FLIP-147).
 */
export interface TaskFinalState {
  type: 'FINAL_STATE';
  attempt: number;
  subtask: SubtaskId;
  state: TaskStateSnapshot;
}

export interface TaskMetrics {
  type: 'TASK_METRICS';
  attempt: number;
  subtask: SubtaskId;
  sample: TaskMetricsSample;
}

export type ToTaskMessage = DeployTask | TriggerCheckpoint | NotifyCheckpointComplete | NotifyCheckpointAborted | CancelTask | DrainTask;
export type FromTaskMessage =
  AcknowledgeCheckpoint | DeclineCheckpoint | TaskStateChanged | TaskFailed | EndOfInput | TaskFinalState | TaskMetrics;
export type ControlMessage = ToTaskMessage | FromTaskMessage;
export type ControlMessageType = ControlMessage['type'];

export const CONTROL_MESSAGE_TYPES: readonly ControlMessageType[] = [
  'DEPLOY_TASK',
  'TRIGGER_CHECKPOINT',
  'NOTIFY_CHECKPOINT_COMPLETE',
  'NOTIFY_CHECKPOINT_ABORTED',
  'CANCEL_TASK',
  'DRAIN_TASK',
  'ACKNOWLEDGE_CHECKPOINT',
  'DECLINE_CHECKPOINT',
  'TASK_STATE_CHANGED',
  'TASK_FAILED',
  'END_OF_INPUT',
  'FINAL_STATE',
  'TASK_METRICS',
];

// ---- addresses: the actor system's ids ----

/** The job master actor's systemId. */
export const JOB_MASTER = 'job-master';
/** The checkpoint coordinator actor's systemId. */
export const CHECKPOINT_COORDINATOR = 'checkpoint-coordinator';

/** A task actor's systemId: with its attempt, so a message for one attempt never reaches the next one's task. */
export function taskSystemId(subtask: SubtaskId | string, attempt: number): string {
  return `task:${typeof subtask === 'string' ? subtask : subtaskKey(subtask)}:${attempt}`;
}

/** Where a task's message goes, by systemId: checkpoint messages to the coordinator, lifecycle to the job master (and the coordinator, which triggers by it). */
export function recipientsOf(message: FromTaskMessage): readonly string[] {
  switch (message.type) {
    case 'ACKNOWLEDGE_CHECKPOINT':
    case 'DECLINE_CHECKPOINT':
    case 'FINAL_STATE':
      return COORDINATOR_ONLY;
    case 'TASK_STATE_CHANGED':
    case 'END_OF_INPUT':
      return BOTH;
    case 'TASK_FAILED':
    case 'TASK_METRICS':
      return JOB_MASTER_ONLY;
  }
}
const COORDINATOR_ONLY = [CHECKPOINT_COORDINATOR] as const;
const JOB_MASTER_ONLY = [JOB_MASTER] as const;
const BOTH = [JOB_MASTER, CHECKPOINT_COORDINATOR] as const;
