// A savepoint taken when a selector operator ran behind every process function (<uid>/main-output, <uid>/side-output/<tag>, stateless) restores into the job as it runs now, side outputs routed by tag: no unmatched state, keyed state and source positions restored, every record once.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Savepoint } from '../../src/index.ts';
import { loadRestorePoint } from '../../src/savepoints/restore-point.ts';
import { KEYS, LAST, sideOutputJob } from '../fixtures/side-output-job.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/savepoints/side-outputs-selectors', import.meta.url));

t.test('the old savepoint restores without --allow-non-restored-state; the restored run completes the sums exactly', async (t) => {
  const dir = t.testdir({});
  const path = join(dir, 'savepoint');
  cpSync(FIXTURE, path, { recursive: true });
  const old = await Savepoint.load(path);
  t.same(
    Object.keys(old.metadata.operators).sort(),
    ['main-sink', 'numbers', 'slow', 'sum', 'sum/main-output', 'sum/side-output/threes', 'threes-sink'],
    'the fixture holds the selectors of the old job graph',
  );

  const main: string[] = [];
  const threes: number[] = [];
  // the restored run writes every record's running sum to the main output: the last one of a key is its state's final sum
  const env = sideOutputJob({ 'execution.savepoint.path': path }, main, threes, 0, true);
  const graph = env.getJobGraph();
  t.notOk(
    graph.vertices.some((v) => v.chain.some((x) => x.uid!.includes('/'))),
    'the job as it runs now has no selector operators',
  );
  const restore = await loadRestorePoint(path, graph, { allowNonRestoredState: false });
  t.same(restore.nonRestored, [], 'nothing unmatched: the selectors held no state');

  const result = await env.execute('side-outputs-restored');
  t.equal(result.status, 'FINISHED');
  const seen = main.map((l) => Number(l.split(':')[2]));
  t.equal(new Set(seen).size, seen.length, 'no record twice');
  t.ok(seen.length > 0 && seen.length < LAST + 1, `the restored run read the rest of the input (${seen.length} of ${LAST + 1})`);
  t.same(
    [...threes].sort((a, b) => a - b),
    seen.filter((n) => n % 3 === 0).sort((a, b) => a - b),
    'the side output: exactly the multiples of 3 the restored run read',
  );
  // records of a key arrive from both source subtasks in any order: the largest running sum is the last, the state's final sum
  const last = new Map<number, number>();
  for (const l of main) {
    const [key, sum] = l.split(':').map(Number) as [number, number];
    last.set(key, Math.max(last.get(key) ?? 0, sum));
  }
  for (let key = 0; key < KEYS; key++) {
    let total = 0;
    for (let n = key; n <= LAST; n += KEYS) total += n;
    t.equal(last.get(key), total, `key ${key}: the restored sum plus the rest`);
  }
});
