// What `floe run` prints: one line per start saying what it resumed from, counted nouns, job labels, warnings with a code and a hint.
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { JobClient } from '../../src/api/job-client.ts';
import { main } from '../../src/cli/main.ts';
import { attachReporter, formatJobEnd, jobLabel } from '../../src/cli/reporter.ts';
import type { JobResult } from '../../src/coordinator/job-master.ts';
import type { RestorePoint } from '../../src/savepoints/restore-point.ts';

const ID = '0123456789abcdef0123456789abcdef';

/** The reporter's lines for the given 'running' events of a job named `name`, restored from `savepoint` or `path`. */
function runningLines(
  events: Array<{ attempt: number; restoredFrom: number | null }>,
  options: { name?: string; savepoint?: Partial<RestorePoint> } = {},
): string[] {
  const lines: string[] = [];
  const emitter = new EventEmitter();
  const savepoint = options.savepoint
    ? ({ kind: 'savepoint', nonRestored: [], drained: false, warnings: [], ...options.savepoint } as RestorePoint)
    : null;
  const client = {
    jobName: options.name ?? 'job',
    jobId: ID,
    restoredFrom: savepoint,
    on: (event: string, listener: (...args: unknown[]) => void) => emitter.on(event, listener),
  } as unknown as JobClient;
  attachReporter(client, { write: (l) => lines.push(l) });
  for (const e of events) emitter.emit('running', e);
  return lines;
}

t.test('the running line: a job named job is not "job \'job\'"; restores say savepoint or checkpoint, as they were', async (t) => {
  t.equal(jobLabel('job', ID), `job ${ID}`, 'job.ts: the usual file name, not "job \'job\' (...)"');
  t.equal(jobLabel('wordcount', ID), `job 'wordcount' (${ID})`);
  t.same(
    runningLines([
      { attempt: 0, restoredFrom: null },
      { attempt: 1, restoredFrom: null },
      { attempt: 2, restoredFrom: 3 },
    ]),
    [
      `job ${ID} running`,
      'attempt 1 running, started from the beginning (no completed checkpoint)',
      'attempt 2 running, restored from checkpoint 3',
    ],
  );
  const savepoint = {
    path: '/sp/savepoint-012345-abcdef012345',
    checkpoint: { id: 7 } as RestorePoint['checkpoint'],
    nonRestored: ['old-map'],
  };
  t.same(
    runningLines(
      [
        { attempt: 0, restoredFrom: 7 },
        { attempt: 1, restoredFrom: 7 },
        { attempt: 2, restoredFrom: 9 },
      ],
      { name: 'wc', savepoint },
    ),
    [
      `job 'wc' (${ID}) running, restored from savepoint /sp/savepoint-012345-abcdef012345 (state of old-map not restored)`,
      'attempt 1 running, restored from savepoint /sp/savepoint-012345-abcdef012345 (state of old-map not restored)',
      'attempt 2 running, restored from checkpoint 9',
    ],
    'a restart before the first checkpoint of a restored job goes back to its savepoint, and says so',
  );
  const retained = { kind: 'checkpoint' as const, path: 'chk/abc/chk-4', checkpoint: { id: 4 } as RestorePoint['checkpoint'] };
  t.same(runningLines([{ attempt: 0, restoredFrom: 4 }], { savepoint: retained }), [
    `job ${ID} running, restored from checkpoint 4 (chk/abc/chk-4)`,
  ]);
});

t.test('the last line counts in words: 1 checkpoint, 1 restart, 2 checkpoints', async (t) => {
  const result = (completed: number, restarts: number): JobResult => ({
    jobId: ID,
    jobName: 'job',
    status: 'FINISHED',
    durationMs: 1234,
    restarts,
    checkpoints: { completed, failed: 0 },
  });
  t.equal(formatJobEnd(result(1, 1)), 'job FINISHED in 1.23 s: 1 checkpoint completed, 0 failed, 1 restart');
  t.equal(formatJobEnd(result(2, 0)), 'job FINISHED in 1.23 s: 2 checkpoints completed, 0 failed, 0 restarts');
});

t.test('floe run of job.ts: its label, checkpoints in words, a missing sink uid as a coded warning with a hint', async (t) => {
  const dir = t.testdir({ 'in.txt': 'a b a\n' });
  const job = join(dir, 'job.ts');
  // a sink without .uid(...): the warning the README's job used to print on every run
  const source = `import { FileSink } from 'floe';
export default function job(env: any) {
  env.readTextFile(${JSON.stringify(join(dir, 'in.txt'))}).uid('source').sinkTo(new FileSink(${JSON.stringify(join(dir, 'out'))}));
}
`;
  writeFileSync(job, source);
  const lines: string[] = [];
  const code = await main(['node', 'floe', 'run', job, '--checkpoint-interval', '1h', '--rest-port', '0'], (l) => lines.push(l));
  t.equal(code, 0, lines.join('\n'));
  t.match(lines, [
    /^warning FLOE_UID_MISSING: 1 operator has no \.uid\(\.\.\.\): filesink-/,
    /^hint: give each operator and sink a stable id/,
  ]);
  t.ok(
    lines.some((l) => /^job [0-9a-f]{32} running, pid \d+$/.test(l)),
    `job <id> running: ${lines.join('\n')}`,
  );
  t.notMatch(lines.join('\n'), /job 'job'/);
  const end = /^job FINISHED in \d+\.\d\d s: (\d+) (checkpoints?) completed, 0 failed, 0 restarts$/.exec(lines.at(-1)!);
  t.ok(end, lines.at(-1)!);
  t.equal(end?.[2], end?.[1] === '1' ? 'checkpoint' : 'checkpoints', 'the noun agrees with the count');
  t.equal(readFileSync(join(dir, 'out', 'part-0-0'), 'utf8'), 'a b a\n');
});
