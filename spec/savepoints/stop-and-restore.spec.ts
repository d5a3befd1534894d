// Stop / cancel with a savepoint in the middle of a word count, restore (also rescaled, moved): output stays exact; stop --drain.
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import { CollectSink, Savepoint, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';
import type { TextFileSplit } from '../../src/connectors/text-file-source.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines, linesRead, visibleLines, wordCountEnv } from '../fixtures/wordcount-job.ts';

const TEXT = generateText(60_000, { seed: 5, vocabulary: 1500 });
const EXPECTED = expectedLines(TEXT);

/** Resolves once `n` checkpoints completed. */
function afterCheckpoints(client: JobClient, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    client.on('checkpoint-completed', (cp) => {
      if (cp.kind === 'checkpoint' && ++seen === n) resolve();
    });
  });
}

for (const { end, from, to, move } of [
  { end: 'stop', from: 2, to: 5, move: false },
  { end: 'cancel', from: 4, to: 1, move: true },
] as const) {
  t.test(
    `${end} with a savepoint mid-run at parallelism ${from}, restore at ${to}${move ? ' from a moved directory' : ''}: output exact`,
    async (t) => {
      const dir = t.testdir({ 'in.txt': TEXT, savepoints: {} });
      const input = join(dir, 'in.txt');
      const out = join(dir, 'out');
      const client = await wordCountEnv({ input, out, parallelism: from, slowMs: 0.25 }).executeAsync('wc');
      await afterCheckpoints(client, 1);
      let path =
        end === 'stop'
          ? await client.stopWithSavepoint(join(dir, 'savepoints'))
          : await client.cancelWithSavepoint(join(dir, 'savepoints'));
      const result = await client.getJobExecutionResult();
      t.equal(result.status, end === 'stop' ? 'FINISHED' : 'CANCELED');
      t.match(
        basename(path),
        new RegExp(`^savepoint-${client.jobId.slice(0, 6).replace(/[-_]/g, '\\$&')}-[0-9a-f]{12}$`),
        'Flink-style directory name',
      );
      t.ok(existsSync(join(path, '_metadata')));
      const partial = visibleLines(out).length;
      t.ok(partial < EXPECTED.length, `the job was stopped in the middle (${partial} of ${EXPECTED.length} lines visible)`);
      if (move) {
        const moved = join(dir, 'moved-savepoint');
        renameSync(path, moved);
        path = moved;
      }

      const restored = await wordCountEnv({
        input,
        out,
        parallelism: to,
        slowMs: 0,
        config: { 'execution.savepoint.path': path },
      }).executeAsync('wc');
      t.equal(restored.restoredFrom?.path, path);
      const resumed = await restored.getJobExecutionResult();
      t.equal(resumed.status, 'FINISHED');
      const lines = visibleLines(out).sort();
      t.equal(lines.length, EXPECTED.length, 'as many lines as words');
      t.same(lines, EXPECTED, 'every ["w",i] exactly once across both runs');
      t.same(
        readdirSync(out).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
        [],
        'no pending or in-progress files left',
      );
      t.ok(existsSync(join(path, '_metadata')), 'no-claim: the savepoint stays');
    },
  );
}

t.test('a stop whose savepoint fails leaves the job running, and its output exact', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT, 'a-file': 'x' });
  const out = join(dir, 'out');
  const client = await wordCountEnv({ input: join(dir, 'in.txt'), out, parallelism: 2, slowMs: 0.25 }).executeAsync('wc');
  await afterCheckpoints(client, 1);
  await t.rejects(client.stopWithSavepoint(join(dir, 'a-file', 'savepoints')), { code: 'FLOE_SAVEPOINT_TARGET_NOT_WRITABLE' });
  t.equal(client.getJobStatus(), 'RUNNING', 'still running');
  await t.rejects(client.stopWithSavepoint(undefined), { code: 'FLOE_SAVEPOINT_NO_TARGET' });
  const before = client.getCheckpointHistory().filter((c) => c.status === 'completed').length;
  await afterCheckpoints(client, 2);
  t.ok(client.getCheckpointHistory().filter((c) => c.status === 'completed').length > before, 'periodic checkpoints go on');
  // a savepoint taken while it runs does not stop it either
  const sp = await client.triggerSavepoint(join(dir, 'sp'));
  t.ok(existsSync(join(sp, '_metadata')));
  t.equal(client.getJobStatus(), 'RUNNING');
  const result = await client.getJobExecutionResult();
  t.equal(result.status, 'FINISHED');
  t.same(visibleLines(out).sort(), EXPECTED, 'exactly once');
  await t.rejects(client.triggerSavepoint(join(dir, 'sp')), { code: 'FLOE_JOB_NOT_RUNNING' }, 'a finished job takes no savepoint');
});

t.test('stop --drain mid-run: sources end, everything read so far is flushed and committed, the job ends FINISHED', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT });
  const out = join(dir, 'out');
  const client = await wordCountEnv({ input: join(dir, 'in.txt'), out, parallelism: 2, slowMs: 0.25 }).executeAsync('wc');
  await afterCheckpoints(client, 1);
  const path = await client.stopWithSavepoint(join(dir, 'sp'), { drain: true });
  const result = await client.getJobExecutionResult();
  t.equal(result.status, 'FINISHED');
  const sp = await Savepoint.load(path);
  t.equal(sp.metadata.drained, true, 'the savepoint is marked drained');
  // the sources' read positions in the savepoint say which lines were read before the drain
  const splits = sp.operatorState('source').splits!.items as TextFileSplit[];
  const read = linesRead(TEXT, splits, 2);
  t.ok(read.length > 0 && read.length < TEXT.length, `drained in the middle (${read.length} of ${TEXT.length} characters read)`);
  t.same(visibleLines(out).sort(), expectedLines(read), 'the output is exactly the counts of every line read, all committed');
  t.same(
    readdirSync(out).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
    [],
    'nothing pending or in progress',
  );
  t.same(Object.keys(sp.metadata.operators).sort(), ['count', 'sink', 'slow', 'source', 'split', 'tag']);
});

t.test('stop --drain: what operators emit at end of input is in the committed output (end of input before the savepoint)', async (t) => {
  const results: number[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 2,
    'execution.checkpointing.interval': '30ms',
    'restart-strategy.type': 'none',
  });
  env
    .fromSequence(1, 1e9)
    .uid('numbers')
    .map((n: number) => {
      const until = performance.now() + 0.02;
      while (performance.now() < until);
      return n;
    })
    .uid('slow')
    .keyBy((n) => n % 5)
    .process<number>(
      (() => {
        let seen = 0; // emitted as -seen when the input ends (one subtask: the function object is shared by subtasks)
        return {
          processElement: (n: number) => {
            seen++;
            return n;
          },
          endInput: (o: { collect(n: number): void }) => o.collect(-seen),
        };
      })(),
    )
    .uid('pass')
    .setParallelism(1)
    .sinkTo(new CollectSink(results))
    .uid('sink')
    .setParallelism(1);
  const client = await env.executeAsync('drain flush');
  await afterCheckpoints(client, 2);
  const dir = t.testdir();
  await client.stopWithSavepoint(join(dir, 'sp'), { drain: true });
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
  const records = results.filter((n) => n > 0);
  const markers = results.filter((n) => n < 0);
  t.same(markers, [-records.length], 'the end-of-input record counts every record committed, and is committed too');
  t.equal(new Set(records).size, records.length, 'no record twice');
  t.ok(records.length > 0);
});

t.test('stop --drain needs checkpointing, and leaves a job without it running', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  env
    .fromSequence(1, 1e9)
    .uid('numbers')
    .map((n: number) => n)
    .uid('id')
    .sinkTo(new CollectSink<number>([]))
    .uid('sink');
  const client = await env.executeAsync('no checkpoints');
  await new Promise((r) => setTimeout(r, 50));
  const dir = t.testdir();
  await t.rejects(client.stopWithSavepoint(join(dir, 'sp'), { drain: true }), { code: 'FLOE_STOP_DRAIN_NEEDS_CHECKPOINTING' });
  t.equal(client.getJobStatus(), 'RUNNING');
  t.equal((await client.cancel()).status, 'CANCELED');
});
