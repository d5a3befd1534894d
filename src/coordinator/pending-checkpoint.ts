// A triggered checkpoint waiting for the acknowledgements of every subtask.
import type { AcknowledgeCheckpoint } from '../checkpoint/control-messages.ts';
import type { ChannelStateSnapshot, TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import type { CheckpointOptions } from '../checkpoint/types.ts';
import type { CheckpointStats, CompletedCheckpoint, OperatorState } from '../checkpoint/completed-checkpoint.ts';
import { channelStateKey } from '../checkpoint/state-handles.ts';
import { subtaskKey } from '../checkpoint/types.ts';

export type AckResult = 'ok' | 'duplicate' | 'unknown-subtask';

export class PendingCheckpoint {
  readonly #notYetAcked: Set<string>;
  readonly #states = new Map<string, { vertexId: string; subtaskIndex: number; state: TaskStateSnapshot }>();
  readonly #channelState: Record<string, ChannelStateSnapshot> = {};
  readonly stats: CheckpointStats;
  readonly waiters: Array<{ resolve(c: CompletedCheckpoint): void; reject(e: Error): void }> = [];
  /** fully acknowledged and being made durable: the checkpoint it will complete as */
  persisting: CompletedCheckpoint | null = null;

  constructor(
    readonly id: number,
    readonly timestamp: number,
    readonly options: CheckpointOptions,
    expected: Iterable<string>,
    /** vertex id -> parallelism, to lay out operator state by subtask */
    readonly parallelism: ReadonlyMap<string, number>,
  ) {
    this.#notYetAcked = new Set(expected);
    this.stats = {
      id,
      kind: options.kind,
      status: 'in-progress',
      triggerTimestamp: timestamp,
      stateSize: 0,
      subtasks: [],
      maxAlignmentMs: 0,
    };
  }

  get isFullyAcknowledged(): boolean {
    return this.#notYetAcked.size === 0;
  }

  get pendingSubtasks(): ReadonlySet<string> {
    return this.#notYetAcked;
  }

  acknowledge(ack: AcknowledgeCheckpoint, now: number): AckResult {
    const key = subtaskKey(ack.subtask);
    if (!this.#notYetAcked.delete(key)) return this.#states.has(key) ? 'duplicate' : 'unknown-subtask';
    this.#states.set(key, { ...ack.subtask, state: ack.state });
    const cs = ack.channelState;
    if (cs && cs.inputs.some((buffers) => buffers.length > 0)) this.#channelState[channelStateKey(cs.operatorUid, cs.subtaskIndex)] = cs;
    this.stats.stateSize += ack.metrics.stateSize;
    this.stats.maxAlignmentMs = Math.max(this.stats.maxAlignmentMs, ack.metrics.alignmentDurationMs);
    this.stats.subtasks.push({ subtask: ack.subtask, acknowledgedAt: now, metrics: ack.metrics });
    return 'ok';
  }

  hasAcknowledged(key: string): boolean {
    return this.#states.has(key);
  }

  /** Builds the completed checkpoint: operator uid -> state per subtask. */
  finalize(now: number, maxParallelism: number): CompletedCheckpoint {
    const operators: Record<string, OperatorState> = {};
    for (const { vertexId, subtaskIndex, state } of this.#states.values()) {
      for (const [uid, opState] of Object.entries(state)) {
        const entry = (operators[uid] ??= { parallelism: this.parallelism.get(vertexId) ?? 1, subtasks: [] });
        entry.subtasks[subtaskIndex] = opState;
      }
    }
    return {
      id: this.id,
      kind: this.options.kind,
      timestamp: this.timestamp,
      completedAt: now,
      durationMs: now - this.timestamp,
      stateSize: this.stats.stateSize,
      maxParallelism,
      operators,
      ...(this.options.kind === 'savepoint' && this.options.targetDirectory
        ? { savepoint: { targetDirectory: this.options.targetDirectory, drained: this.options.drained === true } }
        : {}),
      ...(Object.keys(this.#channelState).length > 0 ? { channelState: this.#channelState } : {}),
    };
  }

  fail(reason: string, now: number): void {
    this.stats.status = 'failed';
    this.stats.failureReason = reason;
    this.stats.endTimestamp = now;
    this.stats.durationMs = now - this.timestamp;
  }
}
