// Real processes on loopback: a savepoint taken on a cluster restores in one process at another parallelism, and the other way round, with exact output.
import { join } from 'node:path';
import t from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';
import { FloeRun, latestCheckpoint, floe, setGate, until } from '../helpers/cluster-run.ts';

const KEYS = 1000;
const ROUNDS = 4;
const TOTAL = KEYS * ROUNDS;
const EXACT = { lines: TOTAL, missing: 0, duplicates: 0, unexpected: 0, examples: [] };

for (const { from, to } of [
  { from: ['-p', '2', '--taskmanagers', '2'], to: ['-p', '3'] },
  { from: ['-p', '2'], to: ['-p', '4', '--taskmanagers', '2'] },
]) {
  t.test(`stop with a savepoint on ${from.join(' ')}, restore on ${to.join(' ')}: every count exactly once across both runs`, async (t) => {
    const dir = t.testdir({ gate: '0', sp: {} });
    const first = new FloeRun(dir, [...from, '--state-backend', 'fs', '-D', `state.savepoints.dir=${join(dir, 'sp')}`], KEYS, ROUNDS);
    t.teardown(() => void first.child.kill('SIGKILL'));
    await until(
      () => first.running,
      'the first run',
      () => first.log,
    );
    // part of the input, and a checkpoint, before the stop
    setGate(dir, Math.floor(TOTAL * 0.4));
    await until(
      () => latestCheckpoint(dir) >= 2,
      'two checkpoints',
      () => first.log,
    );
    const stop = await floe(['stop', first.jobId!, '-m', first.rest!.replace('http://', '')]);
    if (!t.equal(stop.code, 0, 'floe stop with a savepoint exits 0')) t.comment(stop.stdout, stop.stderr, first.log);
    const path = /Path: (\S+)/.exec(stop.stdout)![1]!;
    if (!t.equal((await first.exited).code, 0, 'the first run exits 0 after the stop')) t.comment(first.log);

    setGate(dir, TOTAL);
    const second = new FloeRun(dir, [...to, '--state-backend', 'fs', '-s', path], KEYS, ROUNDS);
    t.teardown(() => void second.child.kill('SIGKILL'));
    if (!t.equal((await second.exited).code, 0, 'the restored run finishes')) t.comment(second.log);
    t.match(second.log, /restored from savepoint/);
    if (to.includes('--taskmanagers')) t.match(second.log, /local cluster: .*2 TaskManagers/);
    t.same(await checkOutput(join(dir, 'out'), KEYS, ROUNDS), EXACT, 'every key with counts 1..ROUNDS exactly once');
  });
}
