// Stop / cancel with a savepoint in the middle of a word count, restore (also rescaled, moved): output stays exact.
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import t from 'tap';
import type { JobClient } from '../../src/index.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines, visibleLines, wordCountEnv } from './wordcount-job.ts';

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
  t.test(`${end} with a savepoint mid-run at parallelism ${from}, restore at ${to}${move ? ' from a moved directory' : ''}: output exact`, async (t) => {
    const dir = t.testdir({ 'in.txt': TEXT, savepoints: {} });
    const input = join(dir, 'in.txt');
    const out = join(dir, 'out');
    const client = await wordCountEnv({ input, out, parallelism: from, slowMs: 0.25 }).executeAsync('wc');
    await afterCheckpoints(client, 1);
    let path = end === 'stop' ? await client.stopWithSavepoint(join(dir, 'savepoints')) : await client.cancelWithSavepoint(join(dir, 'savepoints'));
    const result = await client.getJobExecutionResult();
    t.equal(result.status, end === 'stop' ? 'FINISHED' : 'CANCELED');
    t.match(basename(path), new RegExp(`^savepoint-${client.jobId.slice(0, 6).replace(/[-_]/g, '\\$&')}-[0-9a-f]{12}$`), 'Flink-style directory name');
    t.ok(existsSync(join(path, '_metadata')));
    const partial = visibleLines(out).length;
    t.ok(partial < EXPECTED.length, `the job was stopped in the middle (${partial} of ${EXPECTED.length} lines visible)`);
    if (move) {
      const moved = join(dir, 'moved-savepoint');
      renameSync(path, moved);
      path = moved;
    }

    const restored = await wordCountEnv({ input, out, parallelism: to, slowMs: 0, config: { 'execution.savepoint.path': path } }).executeAsync('wc');
    t.equal(restored.restoredFrom?.path, path);
    const resumed = await restored.getJobExecutionResult();
    t.equal(resumed.status, 'FINISHED');
    const lines = visibleLines(out).sort();
    t.equal(lines.length, EXPECTED.length, 'as many lines as words');
    t.same(lines, EXPECTED, 'every ["w",i] exactly once across both runs');
    t.same(readdirSync(out).filter((f) => f.startsWith('.')), [], 'no pending or in-progress files left');
    t.ok(existsSync(join(path, '_metadata')), 'no-claim: the savepoint stays');
  });
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
