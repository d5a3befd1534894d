// End to end: the exactly-once word count with injected task failures on every backend (memory, fs, level incremental) at parallelism 1 and 4.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';
import type { FileCheckpointStorage } from '../../src/storage/file-checkpoint-storage.ts';
import { countWords, generateText } from '../fixtures/generate-text.ts';

// six runs with restarts: a few seconds each on a quiet machine, minutes on a busy one (the 120 s of .taprc is per file)
t.setTimeout(600_000);

const TEXT = generateText(120_000, { seed: 23, vocabulary: 2500 });

/** The failure-free output: what the job without failures writes (the plain word count spec shows they are equal). */
function expectedLines(): string[] {
  const lines: string[] = [];
  for (const [w, c] of countWords(TEXT)) for (let i = 1; i <= c; i++) lines.push(JSON.stringify([w, i]));
  return lines.sort();
}
const EXPECTED = expectedLines();

interface Backend {
  name: string;
  /** configuration for a run whose files live under `dir` */
  config(dir: string): Record<string, unknown>;
  /** state goes through checkpoint files (so a restore must read them back) */
  files: boolean;
}

const BACKENDS: Backend[] = [
  { name: 'memory', files: false, config: () => ({ 'state.backend.type': 'memory' }) },
  {
    name: 'fs',
    files: true,
    config: (dir) => ({
      'state.backend.type': 'fs',
      'state.checkpoints.dir': join(dir, 'checkpoints'),
      'state.storage.fs.memory-threshold': '0b', // every part a file: the restore reads files, not inlined bytes
    }),
  },
  {
    name: 'level (incremental)',
    files: true,
    config: (dir) => ({
      'state.backend.type': 'level',
      'state.checkpoints.dir': join(dir, 'checkpoints'),
      'state.backend.incremental': true,
      'state.backend.level.localdir': join(dir, 'level'),
      'state.storage.fs.memory-threshold': '0b',
      'state.checkpoints.num-retained': 2,
    }),
  },
];

/** In attempt `attempt`, subtask 0 of the slow operator throws once `afterCheckpoints` checkpoints of that attempt completed (0: before any). */
type Failure = { attempt: number; afterCheckpoints: number };

async function runWordCount(t: Test, backend: Backend, parallelism: number, failures: Failure[]) {
  const dir = t.testdir({ 'in.txt': TEXT });
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': parallelism,
    'execution.checkpointing.interval': '40ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 5,
    'restart-strategy.fixed-delay.delay': '10ms',
    ...backend.config(dir),
  });
  let client: JobClient | undefined;
  let completedThisAttempt = 0;
  let thrown = 0;
  env
    .readTextFile(join(dir, 'in.txt')).uid('source')
    .map((line: string, ctx) => {
      // spread the run over several checkpoints
      const until = performance.now() + 0.05;
      while (performance.now() < until);
      const f = failures[thrown];
      if (f && ctx.attemptNumber === f.attempt && ctx.subtaskIndex === 0) {
        const due = f.afterCheckpoints === 0 ? client?.getLatestCheckpoint() === null : completedThisAttempt >= f.afterCheckpoints;
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
    .sinkTo(new FileSink(join(dir, 'out'))).uid('sink');
  client = await env.executeAsync(`wordcount-${backend.name}`);
  const restoredFrom: Array<number | null> = [];
  // reset on restarting, not on running: a restarted subtask processes records before every task of the attempt runs
  client.on('restarting', () => (completedThisAttempt = 0));
  client.on('running', ({ restoredFrom: r }) => restoredFrom.push(r));
  client.on('checkpoint-completed', () => completedThisAttempt++);
  const result = await client.getJobExecutionResult();
  const files = readdirSync(join(dir, 'out'));
  const lines = files.filter((f) => !f.startsWith('.')).flatMap((f) => readFileSync(join(dir, 'out', f), 'utf8').split('\n').filter(Boolean));
  return { result, thrown, restoredFrom, lines, hidden: files.filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)), client };
}

for (const backend of BACKENDS) {
  for (const parallelism of [1, 4]) {
    t.test(`${backend.name}, parallelism ${parallelism}: output with failures equals the failure-free output`, async (t) => {
      // before the first checkpoint: the restart starts from the beginning and must not keep what the failed attempt wrote
      const early = await runWordCount(t, backend, parallelism, [{ attempt: 0, afterCheckpoints: 0 }]);
      t.equal(early.result.status, 'FINISHED');
      t.equal(early.thrown, 1, 'the injected failure happened');
      t.same(early.restoredFrom.slice(0, 2), [null, null], 'the restart started from the beginning');
      t.same(early.hidden, [], 'no in-progress or pending files left');
      t.same(early.lines.sort(), EXPECTED, 'failure before the first checkpoint: every ["w",i] exactly once');

      // twice, each after completed checkpoints: the second restore builds on state the first restore brought back
      const twice = await runWordCount(t, backend, parallelism, [
        { attempt: 0, afterCheckpoints: 2 },
        { attempt: 1, afterCheckpoints: 1 },
      ]);
      t.equal(twice.result.status, 'FINISHED');
      t.equal(twice.thrown, 2, 'both injected failures happened');
      t.equal(twice.result.restarts, 2);
      const [, first, second] = twice.restoredFrom;
      t.ok(first !== null && second !== null && second! > first!, `each restart restored a newer checkpoint (${twice.restoredFrom.join(', ')})`);
      if (backend.files) {
        const stats = (twice.client.master.settings.storage as FileCheckpointStorage).stats;
        t.ok(stats.filesWritten > 0 && stats.remoteReads > 0, `state went to files and came back from them (${stats.filesWritten} written, ${stats.remoteReads} read)`);
      }
      t.same(twice.hidden, [], 'no in-progress or pending files left');
      t.equal(twice.lines.length, EXPECTED.length, 'as many lines as words');
      t.same(twice.lines.sort(), EXPECTED, 'two failures after checkpoints: every ["w",i] exactly once');
    });
  }
}
