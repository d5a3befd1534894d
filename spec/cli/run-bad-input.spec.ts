// `floe run` (and bench's --duration) on input that used to end in a raw stack: each is a coded error with a hint.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/floe.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function floe(args: string[], cwd = root): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Non-zero, one `error CODE: message` line naming the problem, a hint naming the fix, no stack frame anywhere. */
function userError(t: Test, run: Run, code: string, problem: RegExp, fix: RegExp): void {
  t.not(run.code, 0, 'exits non-zero');
  const lines = run.stderr.trimEnd().split('\n');
  const error = lines.find((l) => l.startsWith('error '));
  t.match(error, new RegExp(`^error ${code}: `), `one line 'error ${code}: ...': ${run.stderr}`);
  t.match(error, problem, 'the message names the problem');
  const hint = lines[lines.indexOf(error!) + 1];
  t.match(hint, /^hint: /, 'a hint follows');
  t.match(hint, fix, 'the hint names the fix');
  t.notMatch(run.stderr, /^\s+at /m, 'no stack trace');
}

const dir = t.testdir({
  'syntax.ts': `import type { StreamExecutionEnvironment } from 'floe';
export default function job(env: StreamExecutionEnvironment) {
  env.fromSequence(1, 10).map((n => n * 2).print();
}
`,
  // Node compiles .mjs itself (tsx leaves it alone): its SyntaxError carries no location of its own
  'syntax.mjs': `export default function job(env) {
  env.fromSequence(1, 10)
    .map((n => n * 2).print();
}
`,
  'throws.ts': `import type { StreamExecutionEnvironment } from 'floe';
export default function job(env: StreamExecutionEnvironment) {
  const input = process.env.NO_SUCH_INPUT;
  if (!input) throw new Error('set NO_SUCH_INPUT to the input file');
  env.readTextFile(input).print();
}
`,
  'bad-key.ts': `import type { StreamExecutionEnvironment } from 'floe';
export default function job(env: StreamExecutionEnvironment) {
  env.configure({ 'no.such.key': 1 });
}
`,
  'js-job.js': `import { FileSink } from 'floe';
import { fileURLToPath } from 'node:url';
export default function job(env) {
  env.fromSequence(1, 100).uid('source').sinkTo(new FileSink(process.env.OUT ?? fileURLToPath(new URL('out/', import.meta.url)))).uid('sink');
}
`,
});
const job = join(dir, 'js-job.js');

t.test('bad input to floe run: a coded error with a hint, never a stack', async (t) => {
  // started together: each child costs a Node start-up, and they are independent
  const [inspectHostPort, inspectPort, syntaxTs, syntaxMjs, readme, throws, badKey, badDuration, badSweep] = await Promise.all([
    floe(['run', job, '--inspect=localhost:8080']),
    floe(['run', job, '--inspect', '9000']),
    floe(['run', join(dir, 'syntax.ts')]),
    floe(['run', join(dir, 'syntax.mjs')]),
    floe(['run', 'README.md']),
    floe(['run', join(dir, 'throws.ts')]),
    floe(['run', join(dir, 'bad-key.ts')]),
    floe(['bench', 'alignment', '--duration', '5 parsecs']),
    floe(['bench', 'alignment', '--duration', '1s', '--sweep-duration', 'soon']),
  ]);
  t.test('--inspect=host:port: the ws:// URL it means', async (t) =>
    userError(t, inspectHostPort, 'FLOE_INSPECT_BAD_URL', /'localhost:8080' is not an inspector URL/, /--inspect=ws:\/\/localhost:8080/),
  );
  t.test('--inspect <port>: the ws:// URL it means', async (t) =>
    userError(t, inspectPort, 'FLOE_INSPECT_BAD_URL', /'9000' is not an inspector URL/, /--inspect=ws:\/\/localhost:9000/),
  );
  t.test('a syntax error compiled by esbuild (.ts): file, line, column and the message', async (t) =>
    userError(
      t,
      syntaxTs,
      'FLOE_JOB_SYNTAX_ERROR',
      new RegExp(`${join(dir, 'syntax.ts')}:3:50: Expected "\\)" but found ";"`),
      /fix the job file/,
    ),
  );
  t.test('a syntax error compiled by Node (.mjs): file, line, column and the message', async (t) =>
    userError(
      t,
      syntaxMjs,
      'FLOE_JOB_SYNTAX_ERROR',
      new RegExp(`${join(dir, 'syntax.mjs')}:3:\\d+: missing \\) after argument list`),
      /fix the job file/,
    ),
  );
  t.test('a file that is no script', async (t) =>
    userError(t, readme, 'FLOE_JOB_UNKNOWN_EXTENSION', /README\.md is not a job file: .*not \.md/, /\.ts or \.js file/),
  );
  t.test('a job function that throws: where in the job file, and what', async (t) =>
    userError(
      t,
      throws,
      'FLOE_JOB_BUILD_FAILED',
      new RegExp(`${join(dir, 'throws.ts')}:4:\\d+: the job function threw Error: set NO_SUCH_INPUT`),
      /job function/,
    ),
  );
  t.test('a job function that throws a coded error keeps its code', async (t) =>
    userError(t, badKey, 'FLOE_CONFIG_UNKNOWN_KEY', /'no\.such\.key'/, /./),
  );
  t.test('bench alignment --duration that is no duration', async (t) =>
    userError(
      t,
      badDuration,
      'FLOE_BENCH_BAD_DURATION',
      /--duration: '5 parsecs' is not a duration: unknown unit 'parsecs'/,
      /--duration 10s/,
    ),
  );
  t.test('bench alignment --sweep-duration that is no duration', async (t) =>
    userError(t, badSweep, 'FLOE_BENCH_BAD_DURATION', /--sweep-duration: 'soon'/, /--sweep-duration 10s/),
  );
});

t.test('a throw inside an operator function keeps its stack (it points into the job)', async (t) => {
  const bug = t.testdir({
    'bug.ts': `import { CollectSink, type StreamExecutionEnvironment } from 'floe';
export default function job(env: StreamExecutionEnvironment) {
  env.fromSequence(1, 10).uid('source').map((n: number) => { if (n === 5) throw new Error('bug at 5'); return n; }).uid('map').sinkTo(new CollectSink([])).uid('sink');
}
`,
  });
  const run = await floe(['run', join(bug, 'bug.ts')]);
  t.not(run.code, 0);
  t.match(run.stderr, /bug at 5\n\s+at .*bug\.ts:3:\d+/, 'the stack, into the job file');
});

t.test("bad event-time input inside the job: the final error names the cause's code, the operator and the record", async (t) => {
  const bad = t.testdir({
    'bad-ts.mjs': `import { CollectSink, WatermarkStrategy } from 'floe';
export default function job(env) {
  env.fromCollection([{ ts: 1 }, { ts: '2023-01-01' }]).uid('source')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps().withTimestampAssigner((e) => e.ts)).uid('stamp')
    .sinkTo(new CollectSink([])).uid('sink');
}
`,
  });
  const run = await floe(['run', join(bad, 'bad-ts.mjs')]);
  t.not(run.code, 0);
  t.match(run.stderr, /^error FLOE_JOB_FAILED: job 'bad-ts' failed: FLOE_BAD_TIMESTAMP: operator 'stamp': .*"2023-01-01"/m);
  t.match(run.stderr, /^task .* failed in attempt 0: FLOE_BAD_TIMESTAMP /m);
});

t.test('floe run --inspect job.js: the optional URL took the job path; it is the job, inspected at the default URL', async (t) => {
  const run = await floe(['run', '--inspect', job, '--rest-port', '0'], dir);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stderr, /job 'js-job' \(\w+\) running/, 'the job ran');
  t.notMatch(run.stderr, /FLOE_USAGE|FLOE_INSPECT_BAD_URL/);
});

t.test('--checkpoint-dir without a checkpoint interval warns: no checkpoint would be written there', async (t) => {
  const setInJob = t.testdir({
    'job.ts': `import { FileSink, type StreamExecutionEnvironment } from 'floe';
export default function job(env: StreamExecutionEnvironment) {
  env.enableCheckpointing(50);
  env.fromSequence(1, 100).uid('source').sinkTo(new FileSink(process.env.OUT!)).uid('sink');
}
`,
  });
  const env = (out: string) => ({ ...process.env, OUT: join(dir, out) });
  const spawnWith = (args: string[], out: string) =>
    new Promise<Run>((resolve) =>
      execFile(process.execPath, [bin, 'run', ...args, '--rest-port', '0'], { cwd: dir, env: env(out) }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      ),
    );
  const [without, withFlag, withKey, inJob] = await Promise.all([
    spawnWith([job, '--state-backend', 'fs', '--checkpoint-dir', join(dir, 'chk-a')], 'out-a/'),
    spawnWith([job, '--state-backend', 'fs', '--checkpoint-dir', join(dir, 'chk-b'), '--checkpoint-interval', '50ms'], 'out-b/'),
    spawnWith(
      [job, '--state-backend', 'fs', '--checkpoint-dir', join(dir, 'chk-c'), '-D', 'execution.checkpointing.interval=50ms'],
      'out-c/',
    ),
    spawnWith([join(setInJob, 'job.ts'), '--state-backend', 'fs', '--checkpoint-dir', join(dir, 'chk-d')], 'out-d/'),
  ]);
  for (const run of [without, withFlag, withKey, inJob]) t.equal(run.code, 0, run.stderr);
  t.match(
    without.stderr,
    new RegExp(
      `^warning: checkpointing is off \\(no --checkpoint-interval\\): no checkpoint goes to ${join(dir, 'chk-a')}.*--checkpoint-interval 10s`,
      'm',
    ),
  );
  t.match(without.stderr, /0 checkpoints completed/, 'as the warning said');
  for (const run of [withFlag, withKey, inJob])
    t.notMatch(run.stderr, /checkpointing is off/, 'an interval from a flag, -D or the job file: no warning');
  t.same(
    readdirSync(join(dir, 'out-a'))
      .filter((f) => !f.startsWith('.'))
      .flatMap((f) =>
        readFileSync(join(dir, 'out-a', f), 'utf8')
          .split('\n')
          .filter(Boolean),
      ).length,
    100,
    'the job itself ran as before',
  );
});
