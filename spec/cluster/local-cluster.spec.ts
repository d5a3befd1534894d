// Real processes on loopback: floe run --taskmanagers runs a job's subtasks in TaskManager child processes, exactly once, also when one is killed with SIGKILL.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';
import { alive, completedCheckpoints, FloeRun, outputLines, setGate, sleep, until } from '../helpers/cluster-run.ts';

const KEYS = 2000;
const ROUNDS = 5;
const TOTAL = KEYS * ROUNDS;
const EXACT = { lines: TOTAL, missing: 0, duplicates: 0, unexpected: 0, examples: [] };

t.test(
  'floe run -p 2 --taskmanagers 2: the same output as the embedded run, checkpoints complete, the TaskManagers end with the job',
  async (t) => {
    const base = t.testdir({ embedded: { gate: String(TOTAL) }, clustered: { gate: String(TOTAL) } });
    const embedded = join(base, 'embedded');
    const clustered = join(base, 'clustered');
    const one = new FloeRun(embedded, ['-p', '2', '--state-backend', 'fs'], KEYS, ROUNDS);
    t.equal((await one.exited).code, 0, `the embedded run finished:\n${one.log}`);
    const run = new FloeRun(clustered, ['-p', '2', '--state-backend', 'fs', '--taskmanagers', '2'], KEYS, ROUNDS);
    t.equal((await run.exited).code, 0, `the cluster run finished:\n${run.log}`);
    t.match(run.log, /local cluster: JobManager at 127\.0\.0\.1:\d+, 2 TaskManagers \(pids \d+, \d+\) with 1 slot each/);
    t.match(run.log, /checkpoint \d+ completed/, 'checkpoints completed across processes');
    t.equal(run.taskManagers.length, 2);
    t.notOk(run.taskManagers.includes(run.child.pid!), 'the subtasks ran in other processes');
    t.same(await checkOutput(join(clustered, 'out'), KEYS, ROUNDS), EXACT, 'every key with counts 1..ROUNDS exactly once');
    t.same(await checkOutput(join(embedded, 'out'), KEYS, ROUNDS), EXACT, 'the embedded run: exactly once too');
    t.same(outputLines(clustered), outputLines(embedded), 'the same lines as the embedded run');
    await until(
      () => run.taskManagers.every((pid) => !alive(pid)),
      'the TaskManagers to exit',
      () => run.log,
      // a hang guard, not a timing bound: a TaskManager on a busy machine may take seconds to see the end and exit
      60_000,
    );
    t.pass('no TaskManager outlives the job');
  },
);

for (const { backend, extra, name } of [
  { backend: 'level', extra: [], name: 'level, aligned' },
  { backend: 'fs', extra: ['-D', 'execution.checkpointing.unaligned=true'], name: 'fs, unaligned' },
]) {
  t.test(
    `kill -9 of a TaskManager mid-job (${name}, p=2): a replacement joins, the job restores its latest checkpoint, exactly once`,
    async (t) => {
      const dir = t.testdir({ gate: '0' });
      const run = new FloeRun(dir, ['-p', '2', '--state-backend', backend, '--taskmanagers', '2', ...extra], KEYS, ROUNDS);
      await until(
        () => run.taskManagers.length === 2 && /running, pid/.test(run.log),
        'the job to run',
        () => run.log,
      );
      // records flow until two checkpoints are on disk, then one TaskManager is killed while they still do
      let gate = 0;
      while (Math.max(0, ...completedCheckpoints(dir)) < 2) {
        // ids: older checkpoints are discarded as newer ones complete
        gate = Math.min(gate + 200, Math.floor(TOTAL * 0.6));
        setGate(dir, gate);
        await sleep(20);
        if (run.child.exitCode !== null) throw new Error(`floe run ended early:\n${run.log}`);
      }
      setGate(dir, Math.min(gate + 200, Math.floor(TOTAL * 0.6)));
      if (backend === 'level') {
        // REST shows the TaskManagers, and where each vertex's subtasks run
        const rest = /REST API listening on (http:\/\/[\d.:]+)/.exec(run.log)![1]!;
        const { taskmanagers } = (await (await fetch(`${rest}/taskmanagers`)).json()) as {
          taskmanagers: Array<{ id: string; pid: number; slotsNumber: number }>;
        };
        t.same(taskmanagers.map((x) => x.pid).sort(), [...run.taskManagers].sort(), 'GET /taskmanagers lists both');
        t.same(
          taskmanagers.map((x) => x.slotsNumber),
          [1, 1],
        );
        const one = (await (await fetch(`${rest}/taskmanagers/${taskmanagers[0]!.id}`)).json()) as { pid: number };
        t.equal(one.pid, taskmanagers[0]!.pid, 'GET /taskmanagers/:id');
        t.equal((await fetch(`${rest}/taskmanagers/tm-99`)).status, 404);
        const jobId = /\(([0-9a-f]{32})\) running/.exec(run.log)![1]!;
        const count = (await (await fetch(`${rest}/jobs/${jobId}/vertices/v1/taskmanagers`)).json()) as {
          taskmanagers: Array<{ subtasks: number[] }>;
        };
        t.same(count.taskmanagers.map((x) => x.subtasks).sort(), [[0], [1]], 'the keyed count runs one subtask on each TaskManager');
      }
      const victim = run.taskManagers[1]!;
      process.kill(victim, 'SIGKILL');
      await until(
        () => /restored from checkpoint \d+/.test(run.log),
        'the restart',
        () => run.log,
      );
      setGate(dir, TOTAL);
      const { code } = await run.exited;
      t.equal(code, 0, `the job finished:\n${run.log}`);
      t.match(
        run.log,
        new RegExp(`FLOE_TASKMANAGER_LOST|TaskManager tm-\\d+ \\(pid ${victim}\\) was lost`),
        'the lost TaskManager is reported',
      );
      t.match(run.log, new RegExp(`TaskManager \\(pid ${victim}\\) exited \\(SIGKILL\\): a replacement starts`));
      t.match(run.log, /job FINISHED .* 1 restart/);
      t.same(await checkOutput(join(dir, 'out'), KEYS, ROUNDS), EXACT, 'every key with counts 1..ROUNDS exactly once');
      t.same(
        readdirSync(join(dir, 'out')).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
        [],
        'no in-progress or pending files left',
      );
    },
  );
}

t.test(
  'a TaskManager paused (SIGSTOP) past heartbeat.timeout is lost; resumed, its late messages change nothing: exactly once',
  async (t) => {
    const dir = t.testdir({ gate: '0' });
    const run = new FloeRun(
      dir,
      ['-p', '2', '--state-backend', 'fs', '--taskmanagers', '2', '-D', 'heartbeat.interval=100ms', '-D', 'heartbeat.timeout=2s'],
      KEYS,
      ROUNDS,
    );
    await until(
      () => run.taskManagers.length === 2 && /running, pid/.test(run.log),
      'the job to run',
      () => run.log,
    );
    let gate = 0;
    while (Math.max(0, ...completedCheckpoints(dir)) < 2) {
      // ids: older checkpoints are discarded as newer ones complete
      gate = Math.min(gate + 200, Math.floor(TOTAL * 0.6));
      setGate(dir, gate);
      await sleep(20);
    }
    const paused = run.taskManagers[0]!;
    process.kill(paused, 'SIGSTOP');
    try {
      setGate(dir, Math.min(gate + 500, Math.floor(TOTAL * 0.6)));
      await until(
        () => new RegExp(`\\(pid ${paused}\\) was lost: no heartbeat`).test(run.log),
        'the heartbeat timeout',
        () => run.log,
      );
    } finally {
      // resumed: it finds its connection to the JobManager closed and exits; a replacement takes its slot
      process.kill(paused, 'SIGCONT');
    }
    await until(
      () => /restored from checkpoint \d+/.test(run.log),
      'the restart',
      () => run.log,
    );
    setGate(dir, TOTAL);
    t.equal((await run.exited).code, 0, `the job finished:\n${run.log}`);
    t.same(await checkOutput(join(dir, 'out'), KEYS, ROUNDS), EXACT, 'every key with counts 1..ROUNDS exactly once');
  },
);
