// Task: a finishing task closes its operators only once every checkpoint notification is done, not just the last one.
import t from 'tap';
import { StreamExecutionEnvironment } from '../../src/index.ts';
import type { Sink, StreamOperator } from '../../src/operators/operator.ts';
import { GatedSource, type Gate } from '../fixtures/gated-source.ts';

/**
 * A two-phase-commit sink's commit of an earlier checkpoint still running when the final
 * checkpoint's notification (nothing left to commit) returns at once: closing then ended the
 * connection under the commit (PostgresSink: "Connection terminated"), failing the finished
 * task into a restart. This writer holds its first notification until a later one arrived, and
 * then until close is called (the bug) or a second passed (close waited, as it must).
 */
class SlowFirstCommit implements Sink<number> {
  readonly name = 'SlowFirstCommit';
  /** whether a later notification arrived while the first was held */
  laterNotification = false;
  firstCommitted = false;
  /** close came while the first notification was still running */
  closedDuringCommit = false;
  #onClose: (() => void) | null = null;

  constructor(readonly gate: Gate) {}

  createWriter(): StreamOperator<number, never> {
    let first = true;
    let held: Promise<void> | null = null;
    return {
      open: () => {},
      processElement: () => {},
      notifyCheckpointComplete: async () => {
        if (!first) {
          this.laterNotification = true;
          return; // nothing left to commit: returns at once
        }
        first = false;
        this.gate.limit = Infinity; // the input ends now: the final checkpoint comes after this one
        held = (async () => {
          while (!this.laterNotification) await new Promise((r) => setTimeout(r, 5));
          await new Promise<void>((r) => {
            this.#onClose = r;
            setTimeout(r, 1000);
          });
          this.firstCommitted = true;
        })();
        await held;
      },
      close: () => {
        if (held && !this.firstCommitted) this.closedDuringCommit = true;
        this.#onClose?.();
      },
    };
  }
}

t.test("a finishing task closes after every checkpoint notification, not only the last one's", async (t) => {
  const gate: Gate = { limit: 50, position: 0 };
  const sink = new SlowFirstCommit(gate);
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    'execution.checkpointing.interval': '20ms',
    'restart-strategy.type': 'none',
  });
  env
    .fromSource(
      new GatedSource(
        Array.from({ length: 100 }, (_, i) => i),
        gate,
      ),
    )
    .uid('source')
    .sinkTo(sink)
    .uid('sink');
  const result = await (await env.executeAsync('notifications')).getJobExecutionResult();
  t.equal(result.status, 'FINISHED');
  t.ok(sink.laterNotification, 'the final checkpoint was notified while the first commit ran');
  t.ok(sink.firstCommitted, 'the first commit finished');
  t.notOk(sink.closedDuringCommit, 'the operators were not closed under the running commit');
});
