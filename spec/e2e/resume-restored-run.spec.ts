// Over real processes: a run restored with -s and SIGKILLed before its first checkpoint completed is resumed with -s <checkpoint-dir>/<its job-id>, from what it was restored from, exactly once.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';
import { FloeRun, root, until } from '../helpers/floe-process.ts';

const JOB = join(root, 'spec/fixtures/gated-count-job.ts');
const KEYS = 5000;
const ROUNDS = 4;
const TOTAL = KEYS * ROUNDS;

const setGate = (dir: string, n: number) => writeFileSync(join(dir, 'gate'), String(n));

/** Ids of the completed checkpoints in a job directory (a chk-<n> with its _metadata), ascending. */
function completed(job: string): number[] {
  if (!existsSync(job)) return [];
  return readdirSync(job)
    .filter((d) => /^chk-\d+$/.test(d) && existsSync(join(job, d, '_metadata')))
    .map((d) => Number(d.slice(4)))
    .sort((a, b) => a - b);
}

function run(dir: string, extra: string[]): FloeRun {
  return new FloeRun([JOB, '--state-backend', 'fs', '--checkpoint-dir', join(dir, 'chk'), ...extra], {
    env: { KEYS: String(KEYS), ROUNDS: String(ROUNDS), GATE_FILE: join(dir, 'gate'), OUT: join(dir, 'out') },
  });
}

const jobIdOf = (r: FloeRun) => /job 'gated-count-job' \(([0-9a-f]+)\) running/.exec(r.log)?.[1];

async function kill(t: Test, r: FloeRun, what: string): Promise<void> {
  r.child.kill('SIGKILL');
  t.equal((await r.exited).signal, 'SIGKILL', `${what} was killed, it did not end by itself`);
}

t.test(
  "killed, restored with -s, killed again before the restored run's first checkpoint: -s <checkpoint-dir>/<its job-id> resumes from what it was restored from, exactly once",
  async (t) => {
    const dir = t.testdir();
    setGate(dir, 0);
    // run A checkpoints often and is killed with checkpoints on disk
    const a = run(dir, ['--checkpoint-interval', '100ms']);
    t.teardown(() => void a.child.kill('SIGKILL'));
    await a.waitFor(/running, pid/);
    const jobA = join(dir, 'chk', jobIdOf(a)!);
    let gate = 0;
    while (completed(jobA).length < 2) {
      gate = Math.min(gate + 500, TOTAL / 2);
      setGate(dir, gate);
      await new Promise((r) => setTimeout(r, 20));
      if (a.child.exitCode !== null) throw new Error(`run A ended before it was killed:\n${a.log}`);
    }
    await kill(t, a, 'run A');
    const restoredA = completed(jobA).at(-1)!;

    // run B resumes A, lets more records in, and is killed long before its first checkpoint (one an hour)
    const b = run(dir, ['--checkpoint-interval', '1h', '-s', jobA]);
    t.teardown(() => void b.child.kill('SIGKILL'));
    await b.waitFor(new RegExp(`running, pid \\d+, restored from checkpoint ${restoredA} \\(${jobA}`));
    const jobB = join(dir, 'chk', jobIdOf(b)!);
    t.not(jobB, jobA, 'the restored run is a job of its own');
    setGate(dir, Math.floor(TOTAL * 0.75));
    await until(
      () => existsSync(join(dir, 'out')) && readdirSync(join(dir, 'out')).some((f) => f.endsWith('.inprogress')),
      'run B to write',
    );
    await kill(t, b, 'run B');
    t.same(completed(jobB), [], 'run B completed no checkpoint');
    t.match(
      JSON.parse(readFileSync(join(jobB, '_restored-from'), 'utf8')),
      { kind: 'checkpoint', path: join(jobA, `chk-${restoredA}`), checkpointId: restoredA },
      'run B recorded where it was restored from',
    );

    // "resume the job I just killed": run C is pointed at B's directory
    setGate(dir, TOTAL);
    const c = run(dir, ['--checkpoint-interval', '100ms', '-s', jobB]);
    t.teardown(() => void c.child.kill('SIGKILL'));
    const { code } = await c.exited;
    t.equal(code, 0, `the resumed run finished${code === 0 ? '' : `:\n${c.log}`}`);
    t.notMatch(c.log, /FLOE_NO_USABLE_CHECKPOINT/);
    t.match(
      c.log,
      new RegExp(
        `^warning: cannot restore ${jobB}: no usable checkpoint of its own .*; using the checkpoint that run was restored from: ${join(jobA, `chk-${restoredA}`)}$`,
        'm',
      ),
      'a warning names what is used instead',
    );
    t.match(c.log, new RegExp(`restored from checkpoint ${restoredA} \\(${join(jobA, `chk-${restoredA}`)}\\)`));
    t.same(
      await checkOutput(join(dir, 'out'), KEYS, ROUNDS),
      { lines: TOTAL, missing: 0, duplicates: 0, unexpected: 0, examples: [] },
      'every key counted 1..ROUNDS exactly once over the three runs',
    );
    t.same(
      readdirSync(join(dir, 'out')).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
      [],
      'no in-progress or pending files left',
    );
  },
);
