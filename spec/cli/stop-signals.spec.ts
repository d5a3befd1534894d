// Stopping `floe run` by its pid: the running line names it, SIGTERM cancels cleanly (port released, 143), a second signal exits at once.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FloeRun, isRunning, portRefuses, root, until } from '../helpers/floe-process.ts';

const gatedJob = join(root, 'spec/fixtures/gated-count-job.ts');

t.test('the running line names the pid; kill <pid> (SIGTERM) cancels the job, releases the port and exits 143', async (t) => {
  const dir = t.testdir({});
  // the gate file never appears: the source idles, the job runs until stopped
  const run = new FloeRun([gatedJob, '--rest-port', '0', '--checkpoint-interval', '100ms', '-q'], {
    env: { KEYS: '10', ROUNDS: '1', GATE_FILE: join(dir, 'gate'), OUT: join(dir, 'out') },
  });
  t.teardown(() => void run.child.kill('SIGKILL'));
  await run.waitFor(/REST API listening/);
  t.equal(run.pid, run.child.pid, `the running line names floe's own pid: ${run.log.split('\n').find((l) => l.includes(' running'))}`);
  const port = run.port!;
  t.notOk(await portRefuses(port), 'the REST port is open while the job runs');

  process.kill(run.pid!, 'SIGTERM');
  const { code, signal } = await run.exited;
  t.equal(code, 143, 'exit code 128 + SIGTERM, as a shell reports a process ended by it');
  t.equal(signal, null, 'floe handled the signal and exited by itself');
  t.match(run.log, /^SIGTERM: canceling the job \(kill \d+ again exits at once\)$/m);
  t.match(run.log, /^job CANCELED in [\d.]+ s: \d+ checkpoints? completed/m, 'the cancel ran to its end and was reported');
  t.ok(await portRefuses(port), 'the REST port is released');
});

/** The probe: onStopSignals with a cancel that never ends. */
function probe(t: Test, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['--import=tsx', join(root, 'spec/fixtures/stop-signals-probe.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const p = { child, log: '', exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stderr.on('data', (d: Buffer) => (p.log += d.toString()));
  t.teardown(() => void child.kill('SIGKILL'));
  return p;
}

t.test('a second signal while the cancel is under way exits at once', async (t) => {
  const p = probe(t);
  await until(() => p.log.includes('ready'), 'the probe to start');
  p.child.kill('SIGINT');
  await until(() => p.log.includes('canceling'), 'the first SIGINT to be handled');
  t.match(p.log, /^SIGINT: canceling the job \(Ctrl-C again exits at once\)$/m);
  t.ok(isRunning(p.child.pid!), 'the first signal only starts the cancel');
  p.child.kill('SIGINT');
  t.equal(await p.exited, 130, 'exit code 128 + SIGINT');
  t.match(p.log, /^SIGINT again: exiting now, without waiting for the job to cancel$/m);
});

t.test("under npx, a stop begun by npm's dying shell does not count as the first Ctrl-C", async (t) => {
  const p = probe(t, { PROBE_REQUEST: '1' });
  await until(() => p.log.includes('ready'), 'the probe to start');
  t.match(p.log, /^requested: canceling the job/m);
  p.child.kill('SIGINT');
  await until(() => p.log.includes('canceling already'), 'the SIGINT to be handled');
  t.match(p.log, /^SIGINT: the job is canceling already \(Ctrl-C again exits at once\)$/m);
  t.ok(isRunning(p.child.pid!), 'the first Ctrl-C does not exit');
  p.child.kill('SIGINT');
  t.equal(await p.exited, 130, 'the second does');
});
