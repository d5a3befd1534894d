// Savepoints of a job run without --checkpoint-interval, over real processes: floe savepoint, stop --savepoint-path and a restore exactly once, also after a source subtask finished.
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';
import { CheckpointError, type CodeOf } from '../../src/errors.ts';
import { savepointFailureHint } from '../../src/savepoints/savepoint-operations.ts';
import { bin, FloeRun, root, until } from '../helpers/floe-process.ts';

const JOB = join(root, 'spec/fixtures/gated-count-job.ts');

function floe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The gated count's environment: its keys and rounds, gate file and output under `dir`. */
const jobEnv = (dir: string, keys: number, rounds: number, env: NodeJS.ProcessEnv = {}) => ({
  KEYS: String(keys),
  ROUNDS: String(rounds),
  GATE_FILE: join(dir, 'gate'),
  OUT: join(dir, 'out'),
  ...env,
});

/** `floe run` of the gated count without checkpointing, REST on a free port; resolves once it serves. */
async function start(dir: string, keys: number, rounds: number, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const run = new FloeRun([JOB, '--rest-port', '0', '-D', `state.savepoints.dir=${join(dir, 'sp')}`, ...extra], {
    env: jobEnv(dir, keys, rounds, env),
  });
  const [, port] = await run.waitFor(/REST API listening on http:\/\/127\.0\.0\.1:(\d+)/);
  const m = ['-m', `127.0.0.1:${port}`];
  const list = await floe(['list', ...m]);
  const jobId = / : (\S+) : gated-count-job \(RUNNING\)/.exec(list.stdout)?.[1];
  if (!jobId) throw new Error(`no running job in floe list: ${list.stdout}${list.stderr}\n${run.log}`);
  return { run, m, jobId, port: Number(port) };
}

const setGate = (dir: string, n: number | string) => writeFileSync(join(dir, 'gate'), String(n));
const hidden = (dir: string) => readdirSync(join(dir, 'out')).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f));

/**
 * `floe stop --savepoint-path` of the running job, then `floe run -s` of its savepoint with the gate open:
 * every key counted 1..rounds exactly once across both runs.
 */
async function stopThenResume(
  t: Test,
  dir: string,
  job: { run: FloeRun; m: string[]; jobId: string },
  keys: number,
  rounds: number,
  env: NodeJS.ProcessEnv = {},
) {
  const { run, m, jobId } = job;
  const stop = await floe(['stop', '--savepoint-path', join(dir, 'sp', 'stopped'), jobId, ...m]);
  t.equal(stop.code, 0, `floe stop --savepoint-path succeeds: ${stop.stderr}`);
  const path = /Path: (\S+)/.exec(stop.stdout)?.[1];
  t.ok(path?.startsWith(join(dir, 'sp', 'stopped', 'savepoint-')), `stop prints the savepoint: ${stop.stdout}`);
  t.equal((await run.exited).code, 0, 'the stopped run exits 0');
  t.match(run.log, /job FINISHED/);

  setGate(dir, keys * rounds);
  const resumed = new FloeRun([JOB, '-s', path!], { env: jobEnv(dir, keys, rounds, env) });
  t.teardown(() => void resumed.child.kill('SIGKILL'));
  t.equal((await resumed.exited).code, 0, `the restored run finishes: ${resumed.log}`);
  t.match(resumed.log, /restored from savepoint/);
  t.same(
    await checkOutput(join(dir, 'out'), keys, rounds),
    { lines: keys * rounds, missing: 0, duplicates: 0, unexpected: 0, examples: [] },
    'every key counted 1..ROUNDS exactly once across both runs',
  );
  t.same(hidden(dir), [], 'no in-progress or pending files left');
}

t.test("a failed savepoint's hint says what is true of the job when the failure is reported", async (t) => {
  const aborted = (code: CodeOf<'CheckpointError'>) =>
    new CheckpointError('FLOE_CHECKPOINT_ABORTED', 'checkpoint 1 aborted', { cause: new CheckpointError(code, 'why') });
  // the failure of the issue: discarded because the job ended, reported before its status said so
  const discarded = aborted('FLOE_CHECKPOINT_DISCARDED');
  t.match(savepointFailureHint('RUNNING', discarded), /^the job ended, no savepoint was taken/);
  t.match(savepointFailureHint('FINISHED', discarded), /^the job is FINISHED, no savepoint was taken/);
  t.match(savepointFailureHint('CANCELED', aborted('FLOE_CHECKPOINT_EXPIRED')), /^the job is CANCELED/);
  t.match(savepointFailureHint('RESTARTING', aborted('FLOE_CHECKPOINT_JOB_SUSPENDED')), /^the job is restarting/);
  t.match(savepointFailureHint('RUNNING', aborted('FLOE_CHECKPOINT_TASK_FINISHED')), /^the job runs on; .*--checkpoint-interval/);
  t.equal(
    savepointFailureHint('RUNNING', aborted('FLOE_CHECKPOINT_EXPIRED')),
    'the job keeps running; fix the cause above and try again',
    'only while it runs on',
  );
  for (const status of ['FINISHED', 'CANCELED', 'FAILED', 'RESTARTING'])
    t.notMatch(savepointFailureHint(status, aborted('FLOE_CHECKPOINT_DECLINED')), /keeps running/, status);
});

t.test('no --checkpoint-interval: floe savepoint, then stop --savepoint-path, then floe run -s continues exactly once', async (t) => {
  const dir = t.testdir({ sp: { stopped: {} } });
  const KEYS = 2000;
  const ROUNDS = 5;
  setGate(dir, 3000);
  const { run, m, jobId } = await start(dir, KEYS, ROUNDS);
  t.teardown(() => void run.child.kill('SIGKILL'));
  t.notMatch(run.log, /restored from/);

  const sp = await floe(['savepoint', jobId, ...m]);
  t.equal(sp.code, 0, `floe savepoint succeeds: ${sp.stderr}`);
  t.match(sp.stdout, /Savepoint completed\. Path: .*savepoint-/);
  t.ok(run.isFloeRunning(), 'the job runs on after the savepoint');

  setGate(dir, 6000);
  await stopThenResume(t, dir, { run, m, jobId }, KEYS, ROUNDS);
});

t.test(
  'no --checkpoint-interval, one source subtask ended: floe savepoint and stop hold its final state, and floe run -s continues exactly once',
  async (t) => {
    const dir = t.testdir({ sp: { stopped: {} } });
    const KEYS = 500;
    const ROUNDS = 4;
    const TOTAL = KEYS * ROUNDS;
    // subtask 0 of the source reads to its end, subtask 1 waits at its gate
    setGate(dir, `${TOTAL},${TOTAL / 2}`);
    const env = { SOURCE_PARALLELISM: '2' };
    const { run, m, jobId, port } = await start(dir, KEYS, ROUNDS, [], env);
    t.teardown(() => void run.child.kill('SIGKILL'));
    const sourceStatus = async () => {
      const details = (await (await fetch(`http://127.0.0.1:${port}/jobs/${jobId}`)).json()) as { vertices?: Array<{ id: string }> };
      if (!details.vertices) throw new Error(`GET /jobs/${jobId}: ${JSON.stringify(details)}\n${run.log}`);
      // Flink's vertex view: each subtask's ExecutionState (FINISHED, RUNNING, ...)
      const vertex = (await (await fetch(`http://127.0.0.1:${port}/jobs/${jobId}/vertices/${details.vertices[0]!.id}`)).json()) as {
        subtasks: Array<{ status: string }>;
      };
      return vertex.subtasks.map((s) => s.status.toLowerCase());
    };
    let status: string[] = [];
    const poll = setInterval(
      () =>
        void sourceStatus().then(
          (s) => (status = s),
          () => {},
        ),
      50,
    );
    try {
      await until(() => status[0] === 'finished', `source subtask 1/2 to finish (${status})`);
    } finally {
      clearInterval(poll);
    }
    t.same(status, ['finished', 'running'], 'one source subtask finished, the other runs');

    // the finished subtask sent its final state (its read position at the end) before it finished: savepoints hold it
    const sp = await floe(['savepoint', jobId, ...m]);
    t.equal(sp.code, 0, `floe savepoint succeeds: ${sp.stderr}`);
    t.match(sp.stdout, /Savepoint completed\. Path: .*savepoint-/);
    t.same(/\((\w+)\)/.exec((await floe(['list', ...m])).stdout)?.[1], 'RUNNING', 'the job runs on');
    // restored, the finished subtask resumes at its end (an empty state would read its records again)
    await stopThenResume(t, dir, { run, m, jobId }, KEYS, ROUNDS, env);
  },
);
