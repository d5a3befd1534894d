// Asynchronous savepoint operations started over REST, polled by trigger id (Flink's request-id).
import { randomBytes } from 'node:crypto';
import { FloeError } from '../errors.ts';

export type TriggerState = { status: 'IN_PROGRESS' } | { status: 'COMPLETED'; location: string } | { status: 'FAILED'; error: unknown };

const MAX_KEPT = 1000;

export class SavepointTriggers {
  readonly #ops = new Map<string, { jobId: string; state: TriggerState }>();
  /** operations whose outcome nobody has fetched yet */
  readonly #unread = new Set<string>();

  /**
   * Starts `operation`, returns its trigger id; the result is kept for polling. A caller-chosen
   * `triggerId` (Flink's clients send one to retry safely) that is known for this job starts nothing again.
   */
  start(jobId: string, operation: () => Promise<string>, triggerId?: string): string {
    const id = triggerId?.toLowerCase() ?? randomBytes(16).toString('hex');
    if (this.#ops.get(id)?.jobId === jobId) return id;
    const entry: { jobId: string; state: TriggerState } = { jobId, state: { status: 'IN_PROGRESS' } };
    this.#ops.set(id, entry);
    this.#unread.add(id);
    if (this.#ops.size > MAX_KEPT) this.#ops.delete(this.#ops.keys().next().value!);
    operation().then(
      (location) => (entry.state = { status: 'COMPLETED', location }),
      (error) => (entry.state = { status: 'FAILED', error }),
    );
    return id;
  }

  get(jobId: string, id: string): TriggerState | undefined {
    const entry = this.#ops.get(id);
    if (!entry || entry.jobId !== jobId) return undefined;
    if (entry.state.status !== 'IN_PROGRESS') this.#unread.delete(id);
    return entry.state;
  }

  /** Waits (at most `ms`) until every operation's outcome was fetched: a stopped job's server closes after its client learnt the path. */
  async outcomesRead(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.#unread.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Flink's asynchronous operation result shape. */
export function triggerView(state: TriggerState) {
  if (state.status === 'IN_PROGRESS') return { status: { id: 'IN_PROGRESS' } };
  if (state.status === 'COMPLETED') return { status: { id: 'COMPLETED' }, operation: { location: state.location } };
  const e = state.error;
  return {
    status: { id: 'COMPLETED' },
    operation: {
      'failure-cause': {
        class: e instanceof Error ? e.name : 'Error',
        code: e instanceof FloeError ? e.code : 'FLOE_SAVEPOINT_FAILED',
        message: e instanceof Error ? e.message : String(e),
        hint: e instanceof FloeError ? e.hint : undefined,
        'stack-trace': e instanceof Error ? e.message : String(e),
      },
    },
  };
}
