// Real processes on loopback: side outputs routed by tag cross TaskManagers (across a keyBy and a rebalance) and are read chained there, exactly once with checkpoints.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FloeRun, root } from '../helpers/floe-process.ts';

const COUNT = 20_000;

function lines(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

t.test('floe run -p 2 --taskmanagers 2: a side output crosses the wire and is read by a chained side output', async (t) => {
  const dir = t.testdir({});
  const run = new FloeRun(
    [
      join(root, 'spec/fixtures/side-output-cluster-job.ts'),
      ...['-p', '2', '--taskmanagers', '2', '--state-backend', 'fs', '--checkpoint-dir', join(dir, 'chk')],
      ...['--checkpoint-interval', '100ms', '--rest-port', '0'],
    ],
    { env: { OUT: join(dir, 'out'), COUNT: String(COUNT) } },
  );
  const { code } = await run.exited;
  const log = run.log;
  t.equal(code, 0, `the job finished:\n${log}`);
  t.match(log, /2 TaskManagers/, 'on two TaskManagers');
  const even = lines(join(dir, 'out', 'even')).sort();
  const expectedEven = Array.from({ length: COUNT / 2 }, (_, i) => `even:${i * 2}`).sort();
  t.same(even, expectedEven, 'the main output across a keyBy: every even number once');
  const odd = lines(join(dir, 'out', 'odd')).sort();
  const expectedOdd = Array.from({ length: COUNT / 10 }, (_, i) => `odd:${i * 10 + 1}`).sort();
  t.same(odd, expectedOdd, 'the side output across a rebalance, then a chained side output: every n % 10 = 1 once');
});
