// End to end: word count with injected task failures; the visible file sink output is exactly-once.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';
import { countWords, generateText } from '../fixtures/generate-text.ts';

const TEXT = generateText(200_000, { seed: 11, vocabulary: 3000 });
const EXPECTED = countWords(TEXT);

/** When to throw from the user function, in attempt 0 (and 1 for a second failure). */
type Failure = { attempt: number; when: 'before-first-checkpoint' | 'after-checkpoint'; checkpoint?: number };

async function runWordCount(t: Test, options: { parallelism: number; mode: 'exactly-once' | 'at-least-once'; failures: Failure[] }) {
  const dir = t.testdir({ 'in.txt': TEXT });
  const out = join(dir, 'out');
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': options.parallelism,
    'execution.checkpointing.interval': '60ms',
    'execution.checkpointing.mode': options.mode,
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 5,
    'restart-strategy.fixed-delay.delay': '20ms',
  });
  let client: JobClient | undefined;
  let completedThisAttempt = 0;
  let thrown = 0;
  env
    .readTextFile(join(dir, 'in.txt')).uid('source')
    .map((line: string, ctx) => {
      // spread the run over several checkpoints
      const until = performance.now() + 0.04;
      while (performance.now() < until);
      const f = options.failures[thrown];
      if (f && ctx.attemptNumber === f.attempt && ctx.subtaskIndex === 0) {
        const due = f.when === 'before-first-checkpoint' ? client?.getLatestCheckpoint() === null : completedThisAttempt >= (f.checkpoint ?? 1);
        if (due) {
          thrown++;
          throw new Error(`injected failure ${thrown}`);
        }
      }
      return line;
    }).uid('slow')
    .flatMap((line: string) => line.split(' ').filter(Boolean)).uid('split')
    .map((w: string) => [w, 1] as [string, number]).uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]]).uid('count')
    .sinkTo(new FileSink(out)).uid('sink');
  client = await env.executeAsync('wordcount');
  // reset on restarting, not on running: a restarted subtask processes records before every task of the attempt runs
  client.on('restarting', () => (completedThisAttempt = 0));
  client.on('checkpoint-completed', () => completedThisAttempt++);
  const result = await client.getJobExecutionResult();
  t.equal(result.status, 'FINISHED');
  t.equal(thrown, options.failures.length, 'every injected failure happened');
  t.equal(result.restarts, options.failures.length);
  const files = readdirSync(out);
  t.same(files.filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)), [], 'no in-progress or pending files left');
  const lines: string[] = [];
  for (const f of files) lines.push(...readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
  return { lines, result };
}

function expectedLines(): string[] {
  const lines: string[] = [];
  for (const [w, c] of EXPECTED) for (let i = 1; i <= c; i++) lines.push(JSON.stringify([w, i]));
  return lines.sort();
}

for (const parallelism of [1, 4]) {
  t.test(`exactly-once, parallelism ${parallelism}: failures before the first checkpoint, in the middle, twice in one run`, async (t) => {
    const expected = expectedLines();
    const scenarios: Failure[][] = [
      [{ attempt: 0, when: 'before-first-checkpoint' }],
      [{ attempt: 0, when: 'after-checkpoint', checkpoint: 3 }],
      [
        { attempt: 0, when: 'after-checkpoint', checkpoint: 2 },
        { attempt: 1, when: 'after-checkpoint', checkpoint: 2 },
      ],
    ];
    for (const failures of scenarios) {
      const { lines, result } = await runWordCount(t, { parallelism, mode: 'exactly-once', failures });
      t.ok(result.checkpoints.completed > 0, 'checkpoints completed');
      t.equal(lines.length, expected.length, 'as many lines as words');
      t.same(lines.sort(), expected, `every ["w",i] exactly once (${failures.length} failure(s))`);
    }
  });
}

t.test('at-least-once with a failure in the middle: nothing is missing', async (t) => {
  const { lines } = await runWordCount(t, { parallelism: 4, mode: 'at-least-once', failures: [{ attempt: 0, when: 'after-checkpoint', checkpoint: 2 }] });
  const seen = new Set(lines);
  const missing = expectedLines().filter((l) => !seen.has(l));
  t.same(missing, [], 'every ["w",i] appears at least once');
});

t.test('without failures the output equals a direct count (parallelism 2, checkpointing off)', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT });
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2 });
  env.readTextFile(join(dir, 'in.txt'))
    .flatMap((l: string) => l.split(' ').filter(Boolean))
    .map((w: string) => [w, 1] as [string, number])
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .sinkTo(new FileSink(join(dir, 'out')));
  const result = await env.execute('plain');
  t.equal(result.status, 'FINISHED');
  const lines = readdirSync(join(dir, 'out')).flatMap((f) => readFileSync(join(dir, 'out', f), 'utf8').split('\n').filter(Boolean));
  t.same(lines.sort(), expectedLines());
  void writeFileSync;
});
