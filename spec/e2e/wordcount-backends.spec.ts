// End to end: the exactly-once word count with injected task failures on every backend (memory, fs, level incremental) at parallelism 1 and 4.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { FileCheckpointStorage } from '../../src/storage/file-checkpoint-storage.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines, runWordCount, type Failure } from '../fixtures/wordcount-job.ts';

// six runs with restarts: a few seconds each on a quiet machine, minutes on a busy one (the 120 s of .taprc is per file)
t.setTimeout(600_000);

const TEXT = generateText(60_000, { seed: 23, vocabulary: 2500 });

/** The failure-free output: what the job without failures writes (the plain word count spec shows they are equal). */
const EXPECTED = expectedLines(TEXT);

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

async function run(t: Test, backend: Backend, parallelism: number, failures: Failure[]) {
  const dir = t.testdir({ 'in.txt': TEXT });
  return runWordCount({
    name: `wordcount-${backend.name}`,
    input: join(dir, 'in.txt'),
    out: join(dir, 'out'),
    parallelism,
    slowMs: 0.05, // spread the run over several checkpoints
    config: {
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 5,
      'restart-strategy.fixed-delay.delay': '10ms',
      ...backend.config(dir),
    },
    failures,
  });
}

for (const backend of BACKENDS) {
  for (const parallelism of [1, 4]) {
    t.test(`${backend.name}, parallelism ${parallelism}: output with failures equals the failure-free output`, async (t) => {
      // before the first checkpoint: the restart starts from the beginning and must not keep what the failed attempt wrote
      const early = await run(t, backend, parallelism, [{ attempt: 0, afterCheckpoints: 0 }]);
      t.equal(early.result.status, 'FINISHED');
      t.equal(early.thrown, 1, 'the injected failure happened');
      t.same(early.restoredFrom.slice(0, 2), [null, null], 'the restart started from the beginning');
      t.same(early.hidden, [], 'no in-progress or pending files left');
      t.same(early.lines.sort(), EXPECTED, 'failure before the first checkpoint: every ["w",i] exactly once');

      // twice, each after completed checkpoints: the second restore builds on state the first restore brought back
      const twice = await run(t, backend, parallelism, [
        { attempt: 0, afterCheckpoints: 2 },
        { attempt: 1, afterCheckpoints: 1 },
      ]);
      t.equal(twice.result.status, 'FINISHED');
      t.equal(twice.thrown, 2, 'both injected failures happened');
      t.equal(twice.result.restarts, 2);
      const [, first, second] = twice.restoredFrom;
      t.ok(
        first !== null && second !== null && second! > first!,
        `each restart restored a newer checkpoint (${twice.restoredFrom.join(', ')})`,
      );
      if (backend.files) {
        const stats = (twice.client.master.settings.storage as FileCheckpointStorage).stats;
        t.ok(
          stats.filesWritten > 0 && stats.remoteReads > 0,
          `state went to files and came back from them (${stats.filesWritten} written, ${stats.remoteReads} read)`,
        );
      }
      t.same(twice.hidden, [], 'no in-progress or pending files left');
      t.equal(twice.lines.length, EXPECTED.length, 'as many lines as words');
      t.same(twice.lines.sort(), EXPECTED, 'two failures after checkpoints: every ["w",i] exactly once');
    });
  }
}
