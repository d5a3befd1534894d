// End to end over real processes: floe run on the level backend is SIGKILLed mid-run and resumed from its retained checkpoints (-s, --from-checkpoint, and past a corrupted newest one), exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { checkOutput } from '../../examples/big-state/check.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/floe.js');
const jobFile = join(root, 'spec/fixtures/gated-count-job.ts');
const KEYS = 20_000;
const ROUNDS = 5;
const TOTAL = KEYS * ROUNDS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** One `floe run` of the gated count as a child process, with its stderr collected. */
class FloeRun {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(dir: string, extra: string[]) {
    const args = [
      bin,
      'run',
      jobFile,
      '--state-backend',
      'level',
      '--checkpoint-dir',
      join(dir, 'chk'),
      '--checkpoint-interval',
      '100ms',
      '-D',
      'state.checkpoints.num-retained=2',
      '-D',
      `state.backend.level.localdir=${join(dir, 'level')}`,
      '--rest-port',
      '0',
      ...extra,
    ];
    this.child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, KEYS: String(KEYS), ROUNDS: String(ROUNDS), GATE_FILE: join(dir, 'gate'), OUT: join(dir, 'out') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }
}

/** The killed run's job directory: the only one under the checkpoint dir until the resumed run adds its own. */
function jobDir(dir: string): string | undefined {
  const chk = join(dir, 'chk');
  if (!existsSync(chk)) return undefined;
  const jobs = readdirSync(chk);
  return jobs.length === 1 ? join(chk, jobs[0]!) : undefined;
}

/** Ids of the completed checkpoints on disk (a chk-<n> with its _metadata), ascending. */
function completed(job: string | undefined): number[] {
  if (!job || !existsSync(job)) return [];
  return readdirSync(job)
    .filter((d) => /^chk-\d+$/.test(d) && existsSync(join(job, d, '_metadata')))
    .map((d) => Number(d.slice(4)))
    .sort((a, b) => a - b);
}

const setGate = (dir: string, n: number) => writeFileSync(join(dir, 'gate'), String(n));

/** Lines the sink committed (visible files only). */
function committedLines(dir: string): number {
  const out = join(dir, 'out');
  if (!existsSync(out)) return 0;
  let n = 0;
  for (const f of readdirSync(out).filter((f) => !f.startsWith('.')))
    n += readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean).length;
  return n;
}

/**
 * Starts the job, lets records in steadily (capped below the end) until at least two checkpoints
 * are on disk, and SIGKILLs it while records are still arriving.
 */
async function startAndKill(t: Test, dir: string, extra: string[] = []): Promise<string> {
  setGate(dir, 0);
  const run = new FloeRun(dir, extra);
  let gate = 0;
  while (completed(jobDir(dir)).length < 2) {
    gate = Math.min(gate + 1000, Math.floor(TOTAL * 0.7));
    setGate(dir, gate);
    await sleep(20);
    if (run.child.exitCode !== null) throw new Error(`floe run ended before it was killed:\n${run.log}`);
  }
  // one more step, so the kill lands while records flow
  setGate(dir, Math.min(gate + 1000, Math.floor(TOTAL * 0.7)));
  await sleep(15);
  run.child.kill('SIGKILL');
  const { signal } = await run.exited;
  t.equal(signal, 'SIGKILL', 'the first run was killed, it did not end by itself');
  const job = jobDir(dir)!;
  const partial = committedLines(dir);
  t.ok(partial < TOTAL, `the killed run committed only part of the output (${partial} of ${TOTAL} lines)`);
  return job;
}

async function resume(t: Test, dir: string, from: string[]) {
  setGate(dir, TOTAL);
  const run = new FloeRun(dir, from);
  const { code } = await run.exited;
  t.equal(code, 0, `the resumed run finished${code === 0 ? '' : `:\n${run.log}`}`);
  const restored = /restored from checkpoint (\d+)/.exec(run.log);
  t.ok(restored, `the resumed run restored a checkpoint: ${run.log.split('\n').find((l) => l.includes('running'))}`);
  const r = await checkOutput(join(dir, 'out'), KEYS, ROUNDS);
  t.same(r, { lines: TOTAL, missing: 0, duplicates: 0, unexpected: 0, examples: [] }, 'every key with counts 1..ROUNDS exactly once');
  t.same(
    readdirSync(join(dir, 'out')).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
    [],
    'no in-progress or pending files left',
  );
  return { restoredId: restored ? Number(restored[1]) : null, log: run.log };
}

t.test('killed with SIGKILL, resumed with -s <checkpoint-dir>/<job-id> (incremental): its newest checkpoint, exactly once', async (t) => {
  const dir = t.testdir();
  const job = await startAndKill(t, dir, ['-D', 'state.backend.incremental=true']);
  const ids = completed(job);
  // a first try many users make: the --checkpoint-dir itself; refused, naming what to pass instead
  const wrong = new FloeRun(dir, ['-s', join(dir, 'chk')]);
  t.not((await wrong.exited).code, 0, '-s <checkpoint-dir> is refused');
  t.match(wrong.log, /^error FLOE_RESTORE_PATH_IS_CHECKPOINT_DIR: .* is a checkpoint directory holding 1 job/m);
  t.match(wrong.log, new RegExp(`^hint: pass a job's directory, e\\.g\\. -s ${job}`, 'm'), 'the hint names the job directory to pass');
  t.same(completed(job), ids, 'nothing was touched');
  const { restoredId } = await resume(t, dir, ['-s', job, '-D', 'state.backend.incremental=true']);
  t.equal(restoredId, ids.at(-1), `restored the newest retained checkpoint of ${ids.join(', ')}`);
});

t.test('killed with SIGKILL, resumed with --from-checkpoint <job-dir>/chk-<n>, exactly once', async (t) => {
  const dir = t.testdir();
  const job = await startAndKill(t, dir);
  const newest = completed(job).at(-1)!;
  const { restoredId } = await resume(t, dir, ['--from-checkpoint', join(job, `chk-${newest}`)]);
  t.equal(restoredId, newest);
});

t.test(
  'killed, newest checkpoint corrupted (a truncated state file): the resume falls back to the previous one, exactly once',
  async (t) => {
    const dir = t.testdir();
    setGate(dir, 0);
    const run = new FloeRun(dir, []);
    // Falling back re-emits what the sink committed after the older checkpoint (as in Flink), so both
    // retained checkpoints must hold the same input position: let in a part, wait until the sink
    // committed all of it (a checkpoint at that position completed), then one more checkpoint.
    const part = Math.floor(TOTAL * 0.4);
    for (let gate = 0; gate < part;) {
      gate = Math.min(gate + 2000, part);
      setGate(dir, gate);
      await sleep(10);
    }
    await until(() => committedLines(dir) === part, 'the sink to commit the part let in');
    const atPart = completed(jobDir(dir)).at(-1)!;
    await until(() => completed(jobDir(dir)).at(-1)! >= atPart + 1, 'one more checkpoint');
    run.child.kill('SIGKILL');
    t.equal((await run.exited).signal, 'SIGKILL');
    const job = jobDir(dir)!;
    const [previous, newest] = completed(job).slice(-2) as [number, number];
    const chkDir = join(job, `chk-${newest}`);
    const stateFile = readdirSync(chkDir).find((f) => f !== '_metadata');
    t.ok(stateFile, `the newest checkpoint has a state file of its own (${readdirSync(chkDir).join(', ')})`);
    truncateSync(join(chkDir, stateFile!), 10);
    const { restoredId, log } = await resume(t, dir, ['-s', job]);
    t.equal(restoredId, previous, `fell back from chk-${newest} to chk-${previous}`);
    t.match(log, new RegExp(`warning: cannot restore .*chk-${newest}`), 'the log says why the newest was skipped');
  },
);
