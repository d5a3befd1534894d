// End to end: word count with injected task failures; the visible file sink output is exactly-once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink, StreamExecutionEnvironment } from '../../src/index.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines as expectedOutput, runWordCount, type Failure } from '../fixtures/wordcount-job.ts';

const TEXT = generateText(80_000, { seed: 11, vocabulary: 3000 });

const RESTARTS = {
  'restart-strategy.type': 'fixed-delay',
  'restart-strategy.fixed-delay.attempts': 5,
  'restart-strategy.fixed-delay.delay': '20ms',
};

async function run(t: Test, parallelism: number, mode: 'exactly-once' | 'at-least-once', failures: Failure[]) {
  const dir = t.testdir({ 'in.txt': TEXT });
  const run = await runWordCount({
    input: join(dir, 'in.txt'),
    out: join(dir, 'out'),
    parallelism,
    slowMs: 0.04, // spread the run over several checkpoints
    config: { 'execution.checkpointing.interval': '60ms', 'execution.checkpointing.mode': mode, ...RESTARTS },
    failures,
  });
  t.equal(run.result.status, 'FINISHED');
  t.equal(run.thrown, failures.length, 'every injected failure happened');
  t.equal(run.result.restarts, failures.length);
  t.same(run.hidden, [], 'no in-progress or pending files left');
  return run;
}

function expectedLines(): string[] {
  return expectedOutput(TEXT);
}

for (const parallelism of [1, 4]) {
  t.test(`exactly-once, parallelism ${parallelism}: failures before the first checkpoint, in the middle, twice in one run`, async (t) => {
    const expected = expectedLines();
    const scenarios: Failure[][] = [
      [{ attempt: 0, afterCheckpoints: 0 }],
      [{ attempt: 0, afterCheckpoints: 3 }],
      [
        { attempt: 0, afterCheckpoints: 2 },
        { attempt: 1, afterCheckpoints: 2 },
      ],
    ];
    for (const failures of scenarios) {
      const { lines, result } = await run(t, parallelism, 'exactly-once', failures);
      t.ok(result.checkpoints.completed > 0, 'checkpoints completed');
      t.equal(lines.length, expected.length, 'as many lines as words');
      t.same(lines.sort(), expected, `every ["w",i] exactly once (${failures.length} failure(s))`);
    }
  });
}

t.test('at-least-once with a failure in the middle: nothing is missing', async (t) => {
  const { lines } = await run(t, 4, 'at-least-once', [{ attempt: 0, afterCheckpoints: 2 }]);
  const seen = new Set(lines);
  const missing = expectedLines().filter((l) => !seen.has(l));
  t.same(missing, [], 'every ["w",i] appears at least once');
});

t.test('without failures the output equals a direct count (parallelism 2, checkpointing off)', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT });
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2 });
  env
    .readTextFile(join(dir, 'in.txt'))
    .flatMap((l: string) => l.split(' ').filter(Boolean))
    .map((w: string) => [w, 1] as [string, number])
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .sinkTo(new FileSink(join(dir, 'out')));
  const result = await env.execute('plain');
  t.equal(result.status, 'FINISHED');
  const lines = readdirSync(join(dir, 'out')).flatMap((f) =>
    readFileSync(join(dir, 'out', f), 'utf8')
      .split('\n')
      .filter(Boolean),
  );
  t.same(lines.sort(), expectedLines());
});
