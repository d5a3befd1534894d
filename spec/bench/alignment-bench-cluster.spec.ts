// `floe bench alignment --taskmanagers N` as a user runs it: a real child process, its TaskManager processes, the cluster rows beside the in-process ones.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/floe.js');

const TINY = `name: tiny
checkpoint:
  interval: 100ms
network:
  buffersPerChannel: 2
  batchSize: 16
sources:
  - id: src
    parallelism: 2
    keys: 50
operators:
  - id: slow
    input: src
    edge: hash
    parallelism: 2
    stateBytes: 8
    slow:
      subtask: 0
      delay: 5ms
`;

t.test(
  'floe bench alignment --taskmanagers 2: each mode runs in this process and on 2 TaskManagers, checkpoint p99 side by side',
  async (t) => {
    const dir = t.testdir({ 'tiny.yaml': TINY });
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          bin,
          'bench',
          'alignment',
          join(dir, 'tiny.yaml'),
          '--modes',
          'exactly-once,unaligned',
          '--duration',
          '2s',
          '--levels',
          '1',
          '--taskmanagers',
          '2',
          '--out',
          join(dir, 'out'),
        ],
        { cwd: root, timeout: 100_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stdout, stderr }),
      ),
    );
    if (!t.equal(run.code, 0, 'the bench exits 0')) t.comment(run.stdout, run.stderr);
    t.match(run.stdout, /on a local cluster of 2 TaskManager processes/);
    t.match(run.stdout, /ckpt p99 ms, one process\s+ckpt p99 ms, 2 TaskManagers/);
    const report = JSON.parse(readFileSync(join(dir, 'out', 'alignment-tiny.json'), 'utf8')) as {
      modes: Array<{ mode: string }>;
      cluster: Array<{ mode: string; taskManagers: number; throughput: number; checkpoints: { completed: number } }>;
    };
    t.same(
      report.modes.map((m) => m.mode),
      ['exactly-once', 'unaligned'],
    );
    t.same(
      report.cluster.map((m) => [m.mode, m.taskManagers]),
      [
        ['exactly-once', 2],
        ['unaligned', 2],
      ],
      'the cluster runs, in the JSON beside the in-process ones',
    );
    for (const m of report.cluster) {
      t.ok(m.checkpoints.completed > 0, `${m.mode} on the cluster: checkpoints completed`);
      t.ok(m.throughput > 0, `${m.mode} on the cluster: records flowed (from the sources' task metrics)`);
    }
  },
);

t.test('floe bench alignment --taskmanagers 0: a usage error', async (t) => {
  const run = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      [bin, 'bench', 'alignment', '--taskmanagers', '0'],
      { cwd: root, timeout: 60_000 },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? -1) : 0, stderr }),
    ),
  );
  t.not(run.code, 0);
  t.match(run.stderr, /error FLOE_USAGE: --taskmanagers takes a whole number of at least 1, not '0'/);
});
