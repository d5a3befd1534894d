// REST errors in CLI terms, on real processes: `floe savepoint|stop|cancel|checkpoints` against a running `floe run` print one error and a hint naming the argument, flag or command to use.
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FLOE = join(root, 'bin/floe.js');
// its source waits for a gate file that never comes: the job stays RUNNING and idle
const JOB = join(root, 'spec/fixtures/gated-count-job.ts');
const TOKEN = 's3cret';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function floe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  // only what the spec gives reaches the server: not this shell's FLOE_JOBMANAGER or FLOE_REST_TOKEN
  const { FLOE_JOBMANAGER: _m, FLOE_REST_TOKEN: _t, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [FLOE, ...args], { cwd: root, timeout: 60_000, env: { ...inherited, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** Runs `cases` a few at a time: each is a Node start-up on a shared machine. */
async function all(cases: Array<() => Promise<Run>>): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < cases.length; i += 4) runs.push(...(await Promise.all(cases.slice(i, i + 4).map((c) => c()))));
  return runs;
}

/** exactly one `error CODE: ...` line and one hint line, nothing else, exit 1 */
function refused(t: Test, run: Run, code: string, hint: string): void {
  const lines = run.stderr.split('\n');
  t.equal(lines.length, 3, `two lines and the final newline: ${run.stderr}`);
  t.match(lines[0], new RegExp(`^error ${code}: `), 'the error, once');
  t.equal(lines[1], `hint: ${hint}`, 'the hint in CLI terms');
  t.equal(run.code, 1);
  t.equal(run.stdout, '');
}

t.test('a running job: refused REST calls answer with CLI-terms hints, and the job runs on', async (t) => {
  const dir = t.testdir({});
  // no state.savepoints.dir: savepoint targets default to none, allowed directories to floe run's working directory
  const child = spawn(process.execPath, [FLOE, 'run', JOB, '--rest-port', '0', '-q', '-D', `rest.auth-token=${TOKEN}`], {
    cwd: root,
    env: { ...process.env, KEYS: '10', ROUNDS: '1', GATE_FILE: join(dir, 'no-gate'), OUT: join(dir, 'out') },
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  t.teardown(async () => {
    child.kill();
    await exited;
  });
  let log = '';
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /REST API listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(log);
      if (m) resolve(m[1]!);
    });
    void exited.then(() => reject(new Error(`floe run exited early:\n${log}`)));
  });
  const jobId = /job 'gated-count-job' \(([0-9a-f]+)\) running/.exec(log)![1]!;
  const m = ['-m', address, '--token', TOKEN];
  const outside = resolve(root, '..', 'floe savepoints elsewhere');

  const [savepoint, stop, drain, cancel, savepointUnknown, stopUnknown, checkpointsByEnv, notAllowed, unauthorized, noJobId] = await all([
    () => floe(['savepoint', ...m, jobId]),
    () => floe(['stop', ...m, jobId]),
    () => floe(['stop', '--drain', ...m, jobId]),
    () => floe(['cancel', '-s', ...m, jobId]),
    () => floe(['savepoint', ...m, 'no-such-job', 'sp']),
    () => floe(['stop', ...m, '--savepoint-path', 'sp', 'no-such-job']),
    () => floe(['checkpoints', 'no-such-job'], { FLOE_JOBMANAGER: address }),
    () => floe(['savepoint', ...m, jobId, outside]),
    () => floe(['stop', '-m', address, '--savepoint-path', 'sp', jobId]),
    () => floe(['savepoint', '-m', address]),
  ]);

  t.test('`floe savepoint <id>` without a directory: add it as the second argument', async (t) =>
    refused(
      t,
      savepoint!,
      'FLOE_SAVEPOINT_NO_TARGET',
      `name a target directory: \`floe savepoint -m ${address} ${jobId} <dir>\`, or start the job with \`-D state.savepoints.dir=<dir>\``,
    ),
  );
  t.test('`floe stop <id>` without a directory: add --savepoint-path', async (t) =>
    refused(
      t,
      stop!,
      'FLOE_SAVEPOINT_NO_TARGET',
      `name a target directory: \`floe stop -m ${address} --savepoint-path <dir> ${jobId}\`, or start the job with \`-D state.savepoints.dir=<dir>\``,
    ),
  );
  t.test('`floe stop --drain <id>` keeps --drain in the command to type', async (t) =>
    refused(
      t,
      drain!,
      'FLOE_SAVEPOINT_NO_TARGET',
      `name a target directory: \`floe stop -m ${address} --drain --savepoint-path <dir> ${jobId}\`, or start the job with \`-D state.savepoints.dir=<dir>\``,
    ),
  );
  t.test('`floe cancel -s <id>` without a directory: give -s one', async (t) =>
    refused(
      t,
      cancel!,
      'FLOE_SAVEPOINT_NO_TARGET',
      `name a target directory: \`floe cancel -m ${address} -s <dir> ${jobId}\`, or start the job with \`-D state.savepoints.dir=<dir>\``,
    ),
  );
  t.test('job not found: `floe list` with the -m that was used', async (t) => {
    refused(t, savepointUnknown!, 'FLOE_JOB_NOT_FOUND', `\`floe list -m ${address}\` lists the jobs it runs, with their ids`);
    refused(t, stopUnknown!, 'FLOE_JOB_NOT_FOUND', `\`floe list -m ${address}\` lists the jobs it runs, with their ids`);
  });
  t.test('job not found, server from $FLOE_JOBMANAGER: `floe list` needs no -m', async (t) =>
    refused(t, checkpointsByEnv!, 'FLOE_JOB_NOT_FOUND', '`floe list` lists the jobs it runs, with their ids'),
  );
  t.test('a target outside the allowed directories: how to allow it when starting the job', async (t) =>
    refused(
      t,
      notAllowed!,
      'FLOE_REST_TARGET_NOT_ALLOWED',
      `name a directory inside them, or allow this one when starting the job: \`floe run <job> -D state.savepoints.dir='${outside}'\` (also the default target) or \`-D rest.savepoints.allowed-dirs='${outside}'\``,
    ),
  );
  t.test('without the token: --token or FLOE_REST_TOKEN', async (t) =>
    refused(t, unauthorized!, 'FLOE_REST_UNAUTHORIZED', "pass the server's rest.auth-token: `--token <token>`, or set FLOE_REST_TOKEN"),
  );
  t.test('`floe savepoint` without a job id: a usage error, its hint with the -m used', async (t) => {
    t.equal(
      noJobId!.stderr,
      `error FLOE_USAGE: floe savepoint needs a job id (or --dispose <path>)\nhint: \`floe savepoint -m ${address} <job-id> [target-dir]\`; \`floe list -m ${address}\` shows the ids\n`,
    );
    t.equal(noJobId!.code, 2);
  });

  const list = await floe(['list', '-m', address]);
  t.match(list.stdout, new RegExp(` : ${jobId} : gated-count-job \\(RUNNING\\)`), 'every refusal left the job running');
});

t.test('-m pointing at a server that is not floe: one error, no stack', async (t) => {
  const server = createServer((_request, response) =>
    response.writeHead(404, { 'content-type': 'text/html' }).end('<html>not here</html>'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as { port: number }).port;
  const run = await floe(['list', '-m', `127.0.0.1:${port}`]);
  refused(t, run, 'FLOE_REST_NOT_FLOE', 'point -m at the address `floe run` printed when it started ("REST API listening on ...")');
});
