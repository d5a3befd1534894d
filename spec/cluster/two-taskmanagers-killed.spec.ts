// Real processes on loopback: at parallelism 4 on two TaskManagers, both are killed with SIGKILL one after the other; each time the job restores its latest checkpoint on replacements, exactly once.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';
import { FloeRun, latestCheckpoint, setGate, sleep, until } from '../helpers/cluster-run.ts';

const KEYS = 1000;
const ROUNDS = 5;
const TOTAL = KEYS * ROUNDS;
const EXACT = { lines: TOTAL, missing: 0, duplicates: 0, unexpected: 0, examples: [] };

/** Opens the gate step by step until `n` more checkpoints completed, never past `max`: records are in flight when it returns. */
async function flowUntilCheckpoints(run: FloeRun, n: number, from: number, max: number): Promise<number> {
  const latest = () => latestCheckpoint(run.dir);
  const target = latest() + n;
  let gate = from;
  while (latest() < target) {
    gate = Math.min(gate + 100, max);
    setGate(run.dir, gate);
    await sleep(30);
    if (run.child.exitCode !== null) throw new Error(`floe run ended early:\n${run.log}`);
  }
  return gate;
}

t.test('-p 4 --taskmanagers 2 (level, aligned): kill -9 of one TaskManager, then of the other; two restores, exactly once', async (t) => {
  const dir = t.testdir({ gate: '0' });
  const run = new FloeRun(
    dir,
    [
      '-p',
      '4',
      '--taskmanagers',
      '2',
      '--state-backend',
      'level',
      '-D',
      'restart-strategy.type=fixed-delay',
      '-D',
      'restart-strategy.fixed-delay.attempts=10',
      '-D',
      'restart-strategy.fixed-delay.delay=100ms',
    ],
    KEYS,
    ROUNDS,
  );
  t.teardown(() => void run.child.kill('SIGKILL'));
  await until(
    () => run.running && run.taskManagers.length === 2,
    'the job to run',
    () => run.log,
  );
  t.match(run.log, /2 TaskManagers \(pids \d+, \d+\) with 2 slots each/, 'two slots each: the four subtasks of a vertex spread over both');
  const [first, second] = run.taskManagers as [number, number];

  let gate = await flowUntilCheckpoints(run, 2, 0, Math.floor(TOTAL * 0.3));
  process.kill(first, 'SIGKILL');
  // what REST says meanwhile: one of Flink's job statuses, also while restarting (never the machine's sub-state)
  const states = new Set<unknown>();
  await until(
    async () => {
      states.add((await run.get<{ jobs: Array<{ state: unknown }> }>('/jobs/overview')).jobs[0]?.state);
      return (run.log.match(/restored from checkpoint \d+/g) ?? []).length >= 1;
    },
    'the first restore',
    () => run.log,
  );
  t.ok(
    [...states].every((s) => typeof s === 'string'),
    `job states over REST during the restart: ${[...states].map((s) => JSON.stringify(s)).join(', ')}`,
  );

  gate = await flowUntilCheckpoints(run, 2, gate, Math.floor(TOTAL * 0.6));
  process.kill(second, 'SIGKILL');
  await until(
    () => (run.log.match(/restored from checkpoint \d+/g) ?? []).length >= 2,
    'the second restore',
    () => run.log,
  );

  setGate(dir, TOTAL);
  const { code } = await run.exited;
  if (!t.equal(code, 0, 'the job finished')) t.comment(run.log);
  for (const pid of [first, second])
    t.match(run.log, new RegExp(`TaskManager \\(pid ${pid}\\) exited \\(SIGKILL\\): a replacement starts`), `pid ${pid} was replaced`);
  t.match(run.log, /job FINISHED .* 2 restarts/);
  t.same(await checkOutput(join(dir, 'out'), KEYS, ROUNDS), EXACT, 'every key with counts 1..ROUNDS exactly once');
  t.same(
    readdirSync(join(dir, 'out')).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
    [],
    'no in-progress or pending files left',
  );
});
