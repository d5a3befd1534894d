// Jobs after jobs into one FileSink directory: restores continue their own output without a warning, a re-run warns, a cancel leaves nothing pending.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';
import type { JobEnd, OperatorContext, Output, Sink, StreamOperator } from '../../src/operators/operator.ts';
import { onFloeWarning, type FloeWarning } from '../../src/warnings.ts';
import { GatedSource, until, type Gate } from '../fixtures/gated-source.ts';

const WORDS = Array.from({ length: 3000 }, (_, i) => `w${(i * 7) % 40}`);

/** Every running count ["w",i] of WORDS once, sorted: the exactly-once output. */
const EXPECTED = (() => {
  const seen = new Map<string, number>();
  return WORDS.map((w) => JSON.stringify([w, seen.set(w, (seen.get(w) ?? 0) + 1).get(w)])).sort();
})();

const committed = (out: string) =>
  readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean))
    .sort();
const openTransactions = (out: string) => readdirSync(out).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f));
const markers = (out: string) =>
  readdirSync(out)
    .filter((f) => f.startsWith('.part.job-'))
    .sort();

function warningsOf(t: Test): FloeWarning[] {
  const seen: FloeWarning[] = [];
  t.teardown(onFloeWarning((w) => void seen.push(w)));
  return seen;
}

/** The word count from a gated source (parallelism 1) into `sink`, counted and written at parallelism 2. */
function wordCount(gate: Gate, sink: Sink<unknown>, config: Record<string, unknown> = {}): StreamExecutionEnvironment {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 2,
    'execution.checkpointing.interval': '20ms',
    'restart-strategy.type': 'none',
    'taskmanager.network.batch-size': 16,
    ...config,
  });
  const source = env.fromSource(new GatedSource(WORDS, gate)).uid('source');
  source.transformation.fixedParallelism = 1;
  source
    .map((w: string) => [w, 1] as [string, number])
    .uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(sink)
    .uid('sink');
  return env;
}

/**
 * A FileSink that cancels its job right after it pre-committed a part, once a checkpoint has
 * completed: the part's checkpoint is then pending and is aborted by the cancel — the moment a
 * canceled run used to leave `.part-N-M.pending-K` behind.
 */
class CancelAfterPreCommit implements Sink<unknown> {
  readonly name: string;
  client: JobClient | undefined;
  /** the pre-committed part files in the directory when the cancel was sent */
  pendingAtCancel: string[] = [];

  constructor(readonly inner: FileSink) {
    this.name = inner.name;
  }

  validate(): void {
    this.inner.validate();
  }

  onJobEnd(end: JobEnd): void {
    this.inner.onJobEnd(end);
  }

  createWriter(): StreamOperator<unknown, never> {
    const writer = this.inner.createWriter();
    const sink = this;
    let completed = false;
    return {
      open: (context: OperatorContext, output: Output<never>) => writer.open(context, output),
      processElement: (record: unknown) => writer.processElement(record),
      snapshotState(checkpointId: number) {
        writer.snapshotState!(checkpointId);
        const pending = readdirSync(sink.inner.dir).filter((f) => f.endsWith(`.pending-${checkpointId}`));
        if (completed && pending.length > 0 && sink.pendingAtCancel.length === 0) {
          sink.pendingAtCancel = pending;
          // after the task's synchronous snapshot step; the checkpoint cannot complete before: it waits for storage I/O
          queueMicrotask(() => void sink.client!.cancel());
        }
      },
      notifyCheckpointComplete(checkpointId: number) {
        completed = true;
        return writer.notifyCheckpointComplete!(checkpointId);
      },
      endInput: () => writer.endInput?.(),
      close: () => writer.close?.(),
    };
  }
}

t.test(
  'canceled mid-checkpoint: nothing pending is left; a restore from its retained checkpoint continues its output without a warning',
  async (t) => {
    const dir = t.testdir();
    const out = join(dir, 'out');
    const chk = join(dir, 'chk');
    const warnings = warningsOf(t);
    const files = { 'state.backend.type': 'fs', 'state.checkpoints.dir': chk };
    const gate: Gate = { limit: 300, position: 0 };
    const sink = new CancelAfterPreCommit(new FileSink(out));
    const client = await wordCount(gate, sink, {
      ...files,
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    }).executeAsync('wc');
    sink.client = client;
    client.on('checkpoint-completed', () => (gate.limit = WORDS.length));
    const canceled = await client.getJobExecutionResult();
    t.equal(canceled.status, 'CANCELED');
    t.ok(sink.pendingAtCancel.length > 0, `a part was pending when the cancel came (${sink.pendingAtCancel.join(', ')})`);
    t.same(openTransactions(out), [], 'no pending or in-progress file left behind');
    t.ok(committed(out).length < EXPECTED.length, 'canceled in the middle');
    t.same(markers(out), [`.part.job-${client.jobId}`]);

    const restored = await wordCount({ limit: Infinity, position: 0 }, new FileSink(out), {
      ...files,
      'execution.state-recovery.path': join(chk, client.jobId),
    }).executeAsync('wc');
    t.equal((await restored.getJobExecutionResult()).status, 'FINISHED');
    t.same(warnings, [], 'a restored run into its own directory does not warn');
    t.same(committed(out), EXPECTED, 'exactly once across the cancel and the restore');
    t.same(markers(out), [`.part.job-${client.jobId}`], "the restored run continues the first run's lineage");
  },
);

t.test('stopped with a savepoint and restored into its own directory: no warning; a run from the start into it warns once', async (t) => {
  const dir = t.testdir({ sp: {} });
  const out = join(dir, 'out');
  const warnings = warningsOf(t);
  const gate: Gate = { limit: 1000, position: 0 };
  const client = await wordCount(gate, new FileSink(out)).executeAsync('wc');
  let checkpoints = 0;
  client.on('checkpoint-completed', () => checkpoints++);
  await until(() => gate.position === 1000 && checkpoints > 0, 'records read and a checkpoint');
  const savepoint = await client.stopWithSavepoint(join(dir, 'sp'));
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
  t.ok(committed(out).length > 0 && committed(out).length < EXPECTED.length, 'stopped in the middle, with output');

  const restored = await wordCount({ limit: Infinity, position: 0 }, new FileSink(out), {
    'execution.state-recovery.path': savepoint,
    'parallelism.default': 3,
  }).executeAsync('wc');
  t.equal((await restored.getJobExecutionResult()).status, 'FINISHED');
  t.same(warnings, [], "a run restored from the job's savepoint (at another parallelism) does not warn");
  t.same(committed(out), EXPECTED);

  const again = await wordCount({ limit: Infinity, position: 0 }, new FileSink(out)).executeAsync('wc');
  t.equal((await again.getJobExecutionResult()).status, 'FINISHED');
  t.equal(warnings.length, 1, 'the job run again from the start warns, once');
  t.match(warnings[0], { code: 'FLOE_SINK_OTHER_JOB_PARTS', hint: /remove the directory/ });
  t.equal(committed(out).length, 2 * EXPECTED.length, 'and it wrote beside the old output, as the warning says');
});
