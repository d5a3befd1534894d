// The floe command as a user meets it: real child processes of bin/floe.js, bad input and good jobs.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { WebSocketServer } from 'ws';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/floe.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function floe(args: string[], cwd = root, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, timeout: 60_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A user error: non-zero, `error CODE: message` naming the problem, a hint naming the fix, and no stack trace. */
function userError(t: Test, run: Run, code: string, problem: RegExp, fix: RegExp): void {
  t.not(run.code, 0, 'exits non-zero');
  const lines = run.stderr.trimEnd().split('\n');
  const error = lines.find((l) => l.startsWith('error '));
  t.match(error, new RegExp(`^error ${code}: `), `one line 'error ${code}: ...'`);
  t.match(error, problem, 'the message names the problem');
  const hint = lines[lines.indexOf(error!) + 1];
  t.match(hint, /^hint: /, 'a hint follows');
  t.match(hint, fix, 'the hint names the fix');
  t.notMatch(run.stderr, /^\s+at /m, 'no stack trace');
}

const dir = t.testdir({
  'no-default.ts': 'export const job = 1;\n',
  'missing-input.ts': `import type { StreamExecutionEnvironment } from 'floe';
export default function job(env: StreamExecutionEnvironment) {
  env.readTextFile('does-not-exist.txt').uid('source').print();
}
`,
  'user-bug.ts': `import { CollectSink, type StreamExecutionEnvironment } from 'floe';
function parseAmount(n: number): number {
  if (n === 50) throw new Error('user bug: cannot parse record 50');
  return n;
}
export default function job(env: StreamExecutionEnvironment) {
  env.fromSequence(1, 100).uid('source').map(parseAmount).uid('parse').sinkTo(new CollectSink([])).uid('sink');
}
`,
  'words.txt': 'to be or not to be\nthat is the question\n',
  'ts-job.ts': `import { FileSink, type StreamExecutionEnvironment } from 'floe';
import { fileURLToPath } from 'node:url';
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
export default function job(env: StreamExecutionEnvironment) {
  env.readTextFile(here('words.txt')).uid('source')
    .flatMap((line: string) => line.split(' ').filter(Boolean)).uid('split')
    .map((w: string) => [w, 1] as [string, number]).uid('tag')
    .keyBy((t) => t[0])
    .reduce((a, b) => [a[0], a[1] + b[1]]).uid('count')
    .sinkTo(new FileSink(here('out-ts/'))).uid('sink');
}
`,
  'js-job.js': `import { FileSink } from 'floe';
import { fileURLToPath } from 'node:url';
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
export default function job(env) {
  env.fromSequence(1, 1000).uid('source').filter((n) => n % 10 === 0).uid('tens').sinkTo(new FileSink(here('out-js/'))).uid('sink');
}
`,
});

/** Every visible line the FileSink committed under `out`. */
function committed(out: string): string[] {
  return readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
}

t.test('bad input exits non-zero with one error line and a hint, never a stack', async (t) => {
  // started together: each child costs a Node start-up, and they are independent
  const [unknownOption, missingJob, noDefault, unknownKey, badValue, badFlag, missingInput] = await Promise.all([
    floe(['run', '--no-such-option', 'job.ts']),
    floe(['run', join(dir, 'nope.ts')]),
    floe(['run', join(dir, 'no-default.ts')]),
    floe(['run', join(dir, 'ts-job.ts'), '-D', 'no.such=1']),
    floe(['run', join(dir, 'ts-job.ts'), '-D', 'execution.checkpointing.interval=often']),
    floe(['run', join(dir, 'ts-job.ts'), '-p', 'zero']),
    floe(['run', join(dir, 'missing-input.ts')], dir),
  ]);
  t.test('unknown option', async (t) => {
    userError(t, unknownOption, 'FLOE_USAGE', /unknown option '--no-such-option'/, /floe run --help/);
    t.equal(unknownOption.code, 2, 'usage errors exit 2');
  });
  t.test('missing job file', async (t) => userError(t, missingJob, 'FLOE_JOB_NOT_FOUND', /nope\.ts/, /default export/));
  t.test('job file without a default export', async (t) =>
    userError(t, noDefault, 'FLOE_JOB_NO_DEFAULT_EXPORT', /no-default\.ts has no default export/, /export default function job/),
  );
  t.test('unknown config key', async (t) =>
    userError(t, unknownKey, 'FLOE_CONFIG_UNKNOWN_KEY', /'no\.such'/, /execution\.checkpointing\.interval/),
  );
  t.test('bad config value', async (t) =>
    userError(t, badValue, 'FLOE_CONFIG_BAD_VALUE', /'often'.*execution\.checkpointing\.interval/, /checkpoint/),
  );
  t.test('bad flag value', async (t) => userError(t, badFlag, 'FLOE_CONFIG_BAD_VALUE', /'zero'.*parallelism\.default/, /[Pp]arallelism/));
  t.test('readTextFile path that does not exist is refused before the job starts', async (t) => {
    userError(t, missingInput, 'FLOE_SOURCE_FILE_NOT_FOUND', /does-not-exist\.txt/, /readTextFile/);
    t.notMatch(missingInput.stderr, /running/, 'no task was deployed');
  });
  t.equal(
    [unknownOption, missingJob, noDefault, unknownKey, badValue, badFlag, missingInput].filter((r) => r.stdout !== '').length,
    0,
    'errors go to stderr only',
  );
});

t.test('a failure inside a user function keeps its stack trace', async (t) => {
  const run = await floe(['run', join(dir, 'user-bug.ts')]);
  t.not(run.code, 0, 'the job fails (no restart strategy without checkpointing)');
  t.match(run.stderr, /user bug: cannot parse record 50/, 'the user error message');
  t.match(run.stderr, /\n\s+at (MapOperator\.)?parseAmount \(.*user-bug\.ts:\d+:\d+\)/, 'the stack points into the job file');
  t.match(run.stderr, /^error FLOE_JOB_FAILED: .*user bug/m, 'the job failure is summed up in one line');
});

t.test('TypeScript and JavaScript job files run, and import from floe resolves', async (t) => {
  const [ts, js] = await Promise.all([
    floe([
      'run',
      join(dir, 'ts-job.ts'),
      '--checkpoint-interval',
      '50ms',
      '-q',
      '-D',
      'execution.checkpointing.min-pause=10ms',
      '-D',
      'restart-strategy.type=none',
    ]),
    floe(['run', join(dir, 'js-job.js'), '-p', '2']),
  ]);
  t.equal(ts.code, 0, ts.stderr);
  t.match(ts.stderr, /job FINISHED/);
  t.same(committed(join(dir, 'out-ts')).sort(), [
    '["be",1]',
    '["be",2]',
    '["is",1]',
    '["not",1]',
    '["or",1]',
    '["question",1]',
    '["that",1]',
    '["the",1]',
    '["to",1]',
    '["to",2]',
  ]);
  t.equal(js.code, 0, js.stderr);
  t.same(
    committed(join(dir, 'out-js'))
      .map(Number)
      .sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => (i + 1) * 10),
  );
});

t.test('a job in a project that installs floe, outside any ES-module package', async (t) => {
  // a plain folder: no "type": "module", floe reached through node_modules as after `npm install floe`
  const project = t.testdir({
    'package.json': '{"name": "my-jobs"}',
    'job.ts': readFileSync(join(dir, 'js-job.js'), 'utf8'),
    'awaits.ts': 'await Promise.resolve();\nexport default function job() {}\n',
  });
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(root, join(project, 'node_modules', 'floe'), 'dir');
  // this run loads floe's src/ as CommonJS: other generated code than every other run's, whose coverage
  // would merge with theirs offset by offset and garble the figure, so tap leaves this process out
  const commonJs = { _TAPJS_PROCESSINFO_COVERAGE_: '0' };
  const [run, awaits] = await Promise.all([floe(['run', 'job.ts'], project, commonJs), floe(['run', 'awaits.ts'], project)]);
  t.equal(run.code, 0, run.stderr);
  t.equal(committed(join(project, 'out-js')).length, 100);
  userError(t, awaits, 'FLOE_JOB_TOP_LEVEL_AWAIT', /top-level await/, /\.mts.*"type": "module"/);

  const elsewhere = t.testdir({
    'package.json': '{"name": "not-floe"}',
    'job.js': "import { FileSink } from 'floe';\nexport default function job(env) {}\n",
  });
  const missing = await floe(['run', 'job.js'], elsewhere);
  userError(t, missing, 'FLOE_JOB_CANNOT_IMPORT_FLOE', /imports 'floe'/, /npm install floe/);
});

t.test('--inspect with no inspector listening: a warning, and the process still exits', async (t) => {
  // port 9 (discard) on loopback: nothing listens there in a test environment
  const run = await floe(['run', join(dir, 'js-job.js'), '--inspect=ws://127.0.0.1:9']);
  t.equal(run.code, 0, 'the job runs and the process ends (no reconnect loop keeps it alive)');
  t.match(run.stderr, /FLOE_INSPECTOR_UNREACHABLE.*ws:\/\/127\.0\.0\.1:9/);
  t.match(run.stderr, /job FINISHED/);
});

t.test('--inspect with an inspector listening: says it connected, and the inspector shows the tasks by name', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
  const names = new Set<string>();
  server.on('connection', (socket) =>
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string; name?: string };
      if (event.type === '@xstate.actor') names.add(event.name!);
    }),
  );
  const run = await floe(['run', join(dir, 'js-job.js'), '-p', '2', '--rest-port', '0', `--inspect=${url}`]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, new RegExp(`^inspector connected: ${url}$`, 'm'));
  const task = `Sequence Source -> Filter -> FileSink(${join(dir, 'out-js')})`;
  for (const name of [`${task} (1/2)`, `${task} (2/2)`]) t.ok(names.has(name), `the inspector shows ${name}`);
});

t.test('help', async (t) => {
  const [runHelp, help] = await Promise.all([floe(['run', '--help']), floe(['--help'])]);
  t.equal(runHelp.code, 0);
  t.match(runHelp.stdout, /Usage: floe run \[options\] <job>/);
  t.match(runHelp.stdout, /--checkpoint-interval/);
  t.match(runHelp.stdout, /-D, --define/);
  t.equal(help.code, 0);
  t.match(help.stdout, /run \[options\] <job>/);
});
