// Usage errors of every floe command and subcommand, on real processes: printed once, exit 2, the hint names the refusing command's help.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FLOE = join(root, 'bin/floe.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function floe(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FLOE, ...args], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** argv → the whole of stderr: one error line, one hint line */
const cases: Array<[string[], string, string]> = [
  [['no-such-command'], "unknown command 'no-such-command'", '`floe --help` lists the commands'],
  [['run'], "missing required argument 'job'", '`floe run --help` shows its usage'],
  [['list', 'extra'], "too many arguments for 'list'. Expected 0 arguments but got 1.", '`floe list --help` shows its usage'],
  [['savepoint', '--no-such-option'], "unknown option '--no-such-option'", '`floe savepoint --help` shows its usage'],
  [['savepoint', 'inspect'], "missing required argument 'path'", '`floe savepoint inspect --help` shows its usage'],
  [
    ['savepoint', 'inspect', 'sp', '--no-such-option'],
    "unknown option '--no-such-option'",
    '`floe savepoint inspect --help` shows its usage',
  ],
  [['savepoint', 'rename-uid'], "missing required argument 'path'", '`floe savepoint rename-uid --help` shows its usage'],
  [['savepoint', 'rename-uid', 'sp', 'old'], "missing required argument 'new-uid'", '`floe savepoint rename-uid --help` shows its usage'],
  [
    ['savepoint', 'rename-uid', 'sp', 'old', 'new'],
    "required option '-o, --output <new-path>' not specified",
    '`floe savepoint rename-uid --help` shows its usage',
  ],
  [['stop'], "missing required argument 'job-id'", '`floe stop --help` shows its usage'],
  [['cancel'], "missing required argument 'job-id'", '`floe cancel --help` shows its usage'],
  [['checkpoints'], "missing required argument 'job-id|checkpoint-dir'", '`floe checkpoints --help` shows its usage'],
  [['bench', 'no-such-bench'], "unknown command 'no-such-bench'", '`floe bench --help` shows its usage'],
  [['bench', 'alignment', '--no-such-option'], "unknown option '--no-such-option'", '`floe bench alignment --help` shows its usage'],
  // thrown by the commands' actions: their own hints, in CLI terms
  [
    ['savepoint'],
    'floe savepoint needs a job id (or --dispose <path>)',
    '`floe savepoint <job-id> [target-dir]`; `floe list` shows the ids',
  ],
  [
    ['savepoint', 'inspect', 'no-such-savepoint', '--state', 'count'],
    '--state only works with --dump <uid>',
    '`floe savepoint inspect no-such-savepoint --dump <uid> --state count`',
  ],
];

t.test('each usage error is printed once, with the hint of the command that refused', async (t) => {
  // a few at a time: each child is a Node start-up on a shared machine
  const runs: Run[] = [];
  for (let i = 0; i < cases.length; i += 4) runs.push(...(await Promise.all(cases.slice(i, i + 4).map(([args]) => floe(args)))));
  cases.forEach(([args, message, hint], i) => {
    const run = runs[i]!;
    t.test(`floe ${args.join(' ')}`, async (t) => {
      t.equal(run.stderr, `error FLOE_USAGE: ${message}\nhint: ${hint}\n`, 'one error line and one hint line, nothing else');
      t.equal(run.code, 2, 'usage errors exit 2');
      t.equal(run.stdout, '');
    });
  });
});

t.test('rename-uid with everything given reaches the savepoint (--output is no longer checked by commander)', async (t) => {
  const run = await floe(['savepoint', 'rename-uid', join(root, 'no-such-savepoint'), 'old', 'new', '-o', join(root, 'nowhere')]);
  t.equal(run.code, 1);
  t.match(run.stderr, /^error FLOE_SAVEPOINT_NOT_FOUND: /);
});
