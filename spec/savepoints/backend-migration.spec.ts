// Backend migration through a savepoint (memory → level, level → fs, fs → memory), moved savepoints, and a restore into another FileSink directory.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Savepoint, type JobClient } from '../../src/index.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines, visibleLines, wordCountEnv } from '../fixtures/wordcount-job.ts';

const TEXT = generateText(40_000, { seed: 11, vocabulary: 1200 });
const EXPECTED = expectedLines(TEXT);

function afterCheckpoints(client: JobClient, n: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    client.on('checkpoint-completed', (cp) => {
      if (cp.kind === 'checkpoint' && ++seen === n) resolve();
    });
  });
}

const backendConfig = (backend: string, dir: string) => ({
  'state.backend.type': backend,
  'state.checkpoints.dir': join(dir, `checkpoints-${backend}`),
});

for (const { from, to, end, p, q, move } of [
  { from: 'memory', to: 'level', end: 'stop', p: 2, q: 3, move: false },
  { from: 'level', to: 'fs', end: 'cancel', p: 2, q: 2, move: true },
  { from: 'fs', to: 'memory', end: 'stop', p: 3, q: 1, move: true },
] as const) {
  t.test(
    `${end} with a savepoint on ${from} (p=${p}), restore on ${to} (p=${q})${move ? ' from a moved directory' : ''}: output exact`,
    async (t) => {
      const dir = t.testdir({ 'in.txt': TEXT });
      const input = join(dir, 'in.txt');
      const out = join(dir, 'out');
      const client = await wordCountEnv({ input, out, parallelism: p, slowMs: 0.25, config: backendConfig(from, dir) }).executeAsync('wc');
      await afterCheckpoints(client, 1);
      const taken = end === 'stop' ? await client.stopWithSavepoint(join(dir, 'sp')) : await client.cancelWithSavepoint(join(dir, 'sp'));
      t.equal((await client.getJobExecutionResult()).status, end === 'stop' ? 'FINISHED' : 'CANCELED');
      const partial = visibleLines(out).length;
      t.ok(partial < EXPECTED.length, `stopped in the middle (${partial} of ${EXPECTED.length} lines)`);
      const counted = (await (await Savepoint.load(taken)).operators()).find((o) => o.uid === 'count')!;
      t.ok(counted.states[0]!.keys > 0, `the savepoint holds the ${from} backend's keyed state (${counted.states[0]!.keys} keys)`);

      let path = taken;
      if (move) {
        path = join(dir, 'elsewhere', 'my-savepoint');
        renameSync(join(dir, 'sp'), join(dir, 'elsewhere'));
        renameSync(join(dir, 'elsewhere', readdirSync(join(dir, 'elsewhere'))[0]!), path);
        t.notOk(existsSync(taken), 'the savepoint is only at its new place');
      }
      const restored = await wordCountEnv({
        input,
        out,
        parallelism: q,
        slowMs: 0,
        config: { ...backendConfig(to, dir), 'execution.savepoint.path': path },
      }).executeAsync('wc');
      t.equal(restored.restoredFrom?.path, path);
      const result = await restored.getJobExecutionResult();
      t.equal(result.status, 'FINISHED');
      t.equal(result.restarts, 0);
      t.same(visibleLines(out).sort(), EXPECTED, 'every ["w",i] exactly once across both runs and both backends');
      t.same(
        readdirSync(out).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
        [],
        'no pending or in-progress files left',
      );
    },
  );
}

t.test(
  'restore into another FileSink directory: the old output keeps what was committed, the new one gets the rest, no restart loop',
  async (t) => {
    const dir = t.testdir({ 'in.txt': TEXT });
    const input = join(dir, 'in.txt');
    const restart = {
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 3,
      'restart-strategy.fixed-delay.delay': '10ms',
    };
    const client = await wordCountEnv({ input, out: join(dir, 'out-1'), parallelism: 2, slowMs: 0.25 }).executeAsync('wc');
    await afterCheckpoints(client, 1);
    const path = await client.stopWithSavepoint(join(dir, 'sp'));
    await client.getJobExecutionResult();
    const pending = (await Savepoint.load(path)).operatorState('sink').pending?.items ?? [];
    t.ok(pending.length > 0, `the savepoint's sink state holds pre-committed parts (${pending.length})`);

    const restored = await wordCountEnv({
      input,
      out: join(dir, 'out-2'),
      parallelism: 2,
      slowMs: 0,
      config: { ...restart, 'execution.savepoint.path': path },
    }).executeAsync('wc');
    const result = await restored.getJobExecutionResult();
    t.equal(result.status, 'FINISHED');
    t.equal(result.restarts, 0, 'no restart');
    const lines = [...visibleLines(join(dir, 'out-1')), ...visibleLines(join(dir, 'out-2'))].sort();
    t.same(lines, EXPECTED, 'both directories together hold every line exactly once');

    // the first run's output deleted: its pre-committed parts are gone everywhere
    rmSync(join(dir, 'out-1'), { recursive: true });
    const again = await wordCountEnv({
      input,
      out: join(dir, 'out-3'),
      parallelism: 2,
      slowMs: 0,
      config: { ...restart, 'execution.savepoint.path': path },
    }).executeAsync('wc');
    const failures: unknown[] = [];
    again.on('task-failed', ({ error }) => failures.push(error));
    const error = await again.getJobExecutionResult().then(
      () => null,
      (e: unknown) => e as { code: string; message: string; result: { restarts: number; status: string } },
    );
    t.ok(error, 'the job fails');
    t.equal(error!.result.status, 'FAILED');
    t.equal(error!.result.restarts, 0, 'once: the restart strategy is not consulted for a failure restarting cannot fix');
    t.match(error!.message, /neither .*pending-\d+ nor part-\d+-\d+ is in .*out-1 nor in .*out-3/, 'names both directories');
    t.match(error!.message, /not restarted/);
    t.match((error as { hint?: string }).hint, /skipMissingPendingFiles/, 'the CLI prints the fix');
    t.equal((error as { cause?: { code?: string } }).cause?.code, 'FLOE_SINK_PENDING_FILE_MISSING');
    t.ok(failures.length >= 1);
  },
);
