// End to end over processes: `floe run` serves REST; the CLI and plain HTTP drive it (list, checkpoints, savepoint, stop), then `floe run -s` restores exactly.
import { spawn, execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { generateText } from '../fixtures/generate-text.ts';
import { Savepoint } from '../../src/savepoints/savepoint.ts';
import type { TextFileSplit } from '../../src/connectors/text-file-source.ts';
import { expectedLines, linesRead, visibleLines } from '../fixtures/wordcount-job.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FLOE = join(root, 'bin/floe.js');
const JOB = join(root, 'spec/fixtures/slow-wordcount-job.ts');
// several floe processes one after the other: over .taprc's 120 s per file on a busy machine
t.setTimeout(600_000);

const TEXT = generateText(40_000, { seed: 21, vocabulary: 900 });
// per line in the slow stage: the stopped runs read for 20 s at least (two subtasks on one thread), so the CLI calls
// before the stop (each a Node start-up, seconds apiece on a busy machine) cannot let the job reach its end first
const SLOW_MS = '5';

function floe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FLOE, ...args], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Starts `floe run` in a child process; resolves once its REST API is up, with the port and the exit. */
function floeRun(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [FLOE, 'run', JOB, ...args], { cwd: root, env: { ...process.env, ...env } });
  let log = '';
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const port = new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /REST API listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`floe run exited early:\n${log}`)));
  });
  return { child, port, exited, log: () => log };
}

t.test('floe run + CLI + HTTP: stop with a savepoint, restore with floe run -s', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT, sp: {} });
  const env = { WC_INPUT: join(dir, 'in.txt'), WC_OUT: join(dir, 'out'), WC_SLOW_MS: SLOW_MS };
  const run = floeRun(
    ['--rest-port', '0', '--checkpoint-interval', '50ms', '-q', '-p', '2', '-D', `state.savepoints.dir=${join(dir, 'sp')}`],
    env,
  );
  t.teardown(() => run.child.kill());
  const port = await run.port;
  const m = ['-m', `127.0.0.1:${port}`];

  const list = await floe(['list', ...m]);
  t.equal(list.code, 0, list.stderr);
  const jobId = / : (\S+) : slow-wordcount-job \(RUNNING\)/.exec(list.stdout)?.[1];
  t.ok(jobId, `floe list shows the running job: ${list.stdout}`);

  // plain HTTP from this process, including bad requests
  const base = `http://127.0.0.1:${port}`;
  t.equal((await fetch(`${base}/jobs/${jobId}`)).status, 200);
  t.equal((await fetch(`${base}/jobs/nope`)).status, 404);
  const bad = await fetch(`${base}/jobs/${jobId}/savepoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"target-directory":',
  });
  t.equal(bad.status, 400);
  const outside = await fetch(`${base}/jobs/${jobId}/stop`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ targetDirectory: '/' }),
  });
  t.equal(outside.status, 403, 'target outside the allowed directories refused');

  const [cps, unknown] = await Promise.all([floe(['checkpoints', jobId!, ...m]), floe(['savepoint', 'no-such-job', ...m])]);
  t.equal(cps.code, 0, cps.stderr);
  t.match(cps.stdout, /checkpoint \d+ COMPLETED: .*max alignment/);
  t.match(cps.stdout, /^ {2}Text File Source -> Map -> FlatMap -> Map \(2\/2\): alignment /m, 'subtasks by the names people read');

  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /error FLOE_JOB_NOT_FOUND/);

  const stop = await floe(['stop', jobId!, ...m]);
  t.equal(stop.code, 0, stop.stderr);
  const path = /Path: (\S+)/.exec(stop.stdout)?.[1];
  t.ok(path?.startsWith(join(dir, 'sp', 'savepoint-')), `stop prints the savepoint path: ${stop.stdout}`);
  t.equal(await run.exited, 0, 'floe run exits 0 after stop');
  t.match(run.log(), /job FINISHED/);
  const partial = visibleLines(join(dir, 'out')).length;
  t.ok(partial < expectedLines(TEXT).length, `stopped in the middle (${partial} lines)`);

  // offline, side by side: each a floe process
  const [inspect, dump, dispose] = await Promise.all([
    floe(['savepoint', 'inspect', path!]),
    floe(['savepoint', 'inspect', path!, '--dump', 'count']),
    floe(['savepoint', '--dispose', dir]),
  ]);
  t.equal(inspect.code, 0, inspect.stderr);
  t.match(inspect.stdout, /operator count: parallelism 2/);
  t.match(inspect.stdout, /operator source: parallelism 2/);
  t.ok(
    dump.stdout
      .trim()
      .split('\n')
      .every((l) => typeof JSON.parse(l).key === 'string'),
    'dump prints JSON lines',
  );
  t.equal(dispose.code, 1);
  t.match(dispose.stderr, /FLOE_SAVEPOINT_METADATA_MISSING/);

  const resumed = floeRun(['--rest-port', '0', '--checkpoint-interval', '50ms', '-q', '-p', '3', '-s', path!], { ...env, WC_SLOW_MS: '0' });
  t.teardown(() => resumed.child.kill());
  t.equal(await resumed.exited, 0, resumed.log());
  // one line says where the run resumed from (no 'restoring from' line before it)
  t.equal(
    resumed
      .log()
      .split('\n')
      .filter((l) => l.includes(path!)).length,
    1,
    resumed.log(),
  );
  t.match(resumed.log(), new RegExp(`running, pid \\d+, restored from savepoint ${path!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
  t.same(visibleLines(join(dir, 'out')).sort(), expectedLines(TEXT), 'stop + restore at another parallelism: exact');
});

t.test('floe stop --drain: the job ends FINISHED with everything read committed; a restore from it warns', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT, sp: {} });
  const env = { WC_INPUT: join(dir, 'in.txt'), WC_OUT: join(dir, 'out'), WC_SLOW_MS: SLOW_MS };
  const run = floeRun(
    ['--rest-port', '0', '--checkpoint-interval', '50ms', '-q', '-p', '2', '-D', `state.savepoints.dir=${join(dir, 'sp')}`],
    env,
  );
  t.teardown(() => run.child.kill());
  const m = ['-m', `127.0.0.1:${await run.port}`];
  const jobId = / : (\S+) : slow-wordcount-job \(RUNNING\)/.exec((await floe(['list', ...m])).stdout)?.[1];
  const stop = await floe(['stop', '--drain', jobId!, ...m]);
  t.equal(stop.code, 0, stop.stderr);
  const path = /Path: (\S+)/.exec(stop.stdout)![1]!;
  t.equal(await run.exited, 0, 'floe run exits 0');
  t.match(run.log(), /job FINISHED/);
  const splits = (await Savepoint.load(path)).operatorState('source').splits!.items as TextFileSplit[];
  const read = linesRead(TEXT, splits, 2);
  t.ok(read.length < TEXT.length, 'drained in the middle');
  t.same(visibleLines(join(dir, 'out')).sort(), expectedLines(read), 'exactly the counts of the lines read, all committed');
  t.match((await floe(['savepoint', 'inspect', path])).stdout, /drained \(stop --drain\)/);
  const resumed = floeRun(['--rest-port', '0', '--checkpoint-interval', '50ms', '-q', '-s', path], { ...env, WC_SLOW_MS: '0' });
  t.teardown(() => resumed.child.kill());
  t.equal(await resumed.exited, 0, resumed.log());
  t.match(resumed.log(), /warning: this savepoint was taken by `stop --drain`/);
});
