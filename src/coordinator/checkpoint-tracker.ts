// The checkpoint coordinator's bookkeeping: pending and completed checkpoints, history, failure count.
import type { TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import { PendingCheckpoint } from './pending-checkpoint.ts';
import type { CheckpointStats, CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';

const HISTORY_SIZE = 100;

export class CheckpointTracker {
  nextId = 1;
  readonly pending = new Map<number, PendingCheckpoint>();
  /** the checkpoint a restart restores from */
  latest: CompletedCheckpoint | null = null;
  readonly history: CheckpointStats[] = [];
  readonly counts = { triggered: 0, completed: 0, failed: 0 };
  consecutiveFailures = 0;
  /** when the last checkpoint completed (min-pause is measured from here) */
  lastCompletedAt = Number.NEGATIVE_INFINITY;
  /** a periodic trigger came while max-concurrent checkpoints were pending */
  tickDeferred = false;
  /** subtasks (vertex#index) that must acknowledge */
  expected: string[] = [];
  parallelism = new Map<string, number>();
  /** subtasks that finished: later checkpoints reuse their final state */
  readonly finished = new Map<string, TaskStateSnapshot>();
  /** each subtask's last acknowledged state, to become its final state when it finishes */
  readonly lastAcked = new Map<string, TaskStateSnapshot>();

  record(stats: CheckpointStats): void {
    this.history.push(stats);
    if (this.history.length > HISTORY_SIZE) this.history.shift();
  }

  /** Older pending checkpoints than `id`, oldest first. */
  olderThan(id: number): PendingCheckpoint[] {
    return [...this.pending.values()].filter((p) => p.id < id).sort((a, b) => a.id - b.id);
  }
}
