// Real processes on loopback: floe jobmanager, two floe taskmanager, floe run -m submits a job that runs exactly once; submissions a JobManager refuses.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import WebSocket from 'ws';
import { checkOutput } from '../../examples/big-state/check.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/floe.js');
const jobFile = join(root, 'spec/fixtures/gated-count-job.ts');
const KEYS = 1000;
const ROUNDS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A floe process with its stderr and stdout collected. */
function floe(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p = { child, log: '', stdout: '', exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stderr!.on('data', (d: Buffer) => (p.log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (p.stdout += d.toString()));
  return p;
}

async function until(check: () => boolean, what: string, log: () => string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${log()}`);
    await sleep(20);
  }
}

t.test(
  'floe jobmanager + 2 floe taskmanager: floe run -m runs the job on them exactly once; a second submission while it runs is refused',
  async (t) => {
    const dir = t.testdir({ gate: '0' });
    // the job file reads these: every process of the cluster gets them, as it gets the job file
    const env = { KEYS: String(KEYS), ROUNDS: String(ROUNDS), GATE_FILE: join(dir, 'gate'), OUT: join(dir, 'out') };
    const jm = floe(['jobmanager', '--rest-port', '0'], env);
    t.teardown(() => void jm.child.kill('SIGKILL'));
    await until(
      () => /JobManager listening on http:\/\/([\d.:]+)/.test(jm.log),
      'the JobManager',
      () => jm.log,
    );
    const at = /JobManager listening on http:\/\/([\d.:]+)/.exec(jm.log)![1]!;
    const tms = [floe(['taskmanager', '--jobmanager', at], env), floe(['taskmanager', '--jobmanager', at], env)];
    t.teardown(() => tms.forEach((tm) => tm.child.kill('SIGKILL')));
    await until(
      () => (jm.log.match(/TaskManager tm-\d+ registered/g) ?? []).length === 2,
      'two TaskManagers',
      () => jm.log,
    );

    const run = floe(
      [
        'run',
        jobFile,
        '-m',
        at,
        '-p',
        '2',
        '--checkpoint-interval',
        '100ms',
        '--state-backend',
        'fs',
        '--checkpoint-dir',
        join(dir, 'chk'),
      ],
      env,
    );
    await until(
      () => / RUNNING/.test(run.log),
      'the job to run',
      () => run.log + jm.log,
    );
    const second = floe(['run', jobFile, '-m', at, '--detached'], env);
    t.equal(await second.exited, 1, 'a second job is refused while one runs');
    t.match(second.log, /error FLOE_CLUSTER_BUSY: this JobManager runs job [0-9a-f]{32}/);
    // the JobManager serves the dashboard too: its page, and the job on the live feed with its operators' uids
    const page = await fetch(`http://${at}/`);
    t.equal(page.status, 200);
    t.match(await page.text(), /floe dashboard/);
    const live = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws://${at}/live`);
      ws.once('message', (data) => (resolve(String(data)), ws.close()));
      ws.once('error', reject);
    });
    const sampled = JSON.parse(live) as {
      jobs: Array<{
        status: string;
        vertices: Array<{ uids: string[]; parallelism: number; subtasks: Array<{ state: unknown; taskManager?: string }> }>;
      }>;
    };
    t.equal(sampled.jobs.length, 1, 'the running job on the live feed');
    // a process function's output routes side outputs by tag: no selector operator behind it
    t.same(sampled.jobs[0]!.vertices.flatMap((v) => v.uids).sort(), ['count', 'key', 'sink', 'source'], "with its operators' uids");
    for (const v of sampled.jobs[0]!.vertices) {
      t.equal(v.subtasks.length, v.parallelism, `${v.uids}: every subtask, though it runs in a TaskManager`);
      t.ok(
        v.subtasks.every(
          (s) => typeof s.state === 'object' && s.state !== null && 'running' in s.state && typeof s.taskManager === 'string',
        ),
        'in its running state as its TaskManager relays it, with the TaskManager named',
      );
    }
    (await import('node:fs')).writeFileSync(join(dir, 'gate'), String(KEYS * ROUNDS));
    t.equal(await run.exited, 0, `floe run -m exits 0 when the job finished:\n${run.log}\n${jm.log}`);
    t.match(run.log, /job '[\w-]+' \([0-9a-f]{32}\) submitted to 127\.0\.0\.1:\d+/);
    t.match(run.log, /checkpoints completed: \d+/);
    t.match(run.log, /FINISHED/);
    t.same(
      await checkOutput(join(dir, 'out'), KEYS, ROUNDS),
      { lines: KEYS * ROUNDS, missing: 0, duplicates: 0, unexpected: 0, examples: [] },
      'exactly once',
    );

    const list = floe(['list', '-m', at], env);
    t.equal(await list.exited, 0);
    t.match(list.stdout, /gated-count-job \(FINISHED\)/, 'floe list -m works against the JobManager');

    jm.child.kill('SIGTERM');
    t.equal(await jm.exited, 0, 'the JobManager stops on SIGTERM');
    for (const tm of tms) t.equal(await tm.exited, 0, 'a TaskManager ends with its JobManager');
  },
);

t.test('a TaskManager with a wrong cluster.auth-token is refused with a coded error', async (t) => {
  const jm = floe(['jobmanager', '--rest-port', '0', '-D', 'cluster.auth-token=sesame'], {});
  t.teardown(() => void jm.child.kill('SIGKILL'));
  await until(
    () => /JobManager listening on http:\/\/([\d.:]+)/.test(jm.log),
    'the JobManager',
    () => jm.log,
  );
  const at = /JobManager listening on http:\/\/([\d.:]+)/.exec(jm.log)![1]!;
  const tm = floe(['taskmanager', '--jobmanager', at, '-D', 'cluster.auth-token=guess'], {});
  t.equal(await tm.exited, 1);
  t.match(tm.log, /error FLOE_CLUSTER_AUTH_FAILED: /);
  jm.child.kill('SIGTERM');
  await jm.exited;
});
