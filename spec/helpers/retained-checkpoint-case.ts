// The case of spec/e2e/restore-retained-checkpoint-{fs,level}.spec.ts, one file per backend: each takes about a minute on a
// busy machine (about ten floe processes), and one file for both came close to tap's per-file timeout.
//
// End to end over real processes: a killed word count's retained checkpoints (fs and level, incremental) are inspected
// offline and restored into a changed job: uids matched as for savepoints, a changed input file warned about.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { RetainedCheckpoint } from '../../src/savepoints/retained-checkpoint.ts';
import { listCheckpoints } from '../../src/storage/checkpoint-listing.ts';
import { countWords, generateText } from '../fixtures/generate-text.ts';
import { expectedLines, linesRead, visibleLines } from '../fixtures/wordcount-job.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FLOE = join(root, 'bin/floe.js');
const JOB = join(root, 'spec/fixtures/slow-wordcount-job.ts');
const TEXT = generateText(60_000, { seed: 16, vocabulary: 900 });
const P = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function floe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FLOE, ...args], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `floe run` of the slow word count on `backend` (incremental checkpoints, three retained, every state part a file), its stderr collected. */
function floeRun(dir: string, backend: string, args: string[], env: NodeJS.ProcessEnv) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      FLOE,
      'run',
      JOB,
      '-p',
      String(P),
      '-q',
      '--rest-port',
      '0',
      '--state-backend',
      backend,
      '--checkpoint-dir',
      join(dir, 'chk'),
      '--checkpoint-interval',
      '100ms',
      '-D',
      'state.backend.incremental=true',
      '-D',
      'state.backend.incremental.materialization-interval=1000',
      '-D',
      'state.checkpoints.num-retained=3',
      '-D',
      'state.storage.fs.memory-threshold=0',
      '-D',
      `state.backend.level.localdir=${join(dir, 'level')}`,
      ...args,
    ],
    { cwd: root, env: { ...process.env, WC_INPUT: join(dir, 'in.txt'), WC_SLOW_MS: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, log: () => log };
}

const jobDirs = (dir: string) => (existsSync(join(dir, 'chk')) ? readdirSync(join(dir, 'chk')) : []);

/** Whether the checkpoint in `dir` holds deltas on top of a full snapshot (false while it cannot be read: being written, or dropped). */
const hasDeltas = (dir: string) =>
  RetainedCheckpoint.load(dir).then(
    (c) => c.incremental,
    () => false,
  );

/** Runs the job slowly until its newest completed checkpoint has deltas, then SIGKILLs it: its checkpoints stay on disk. */
async function runAndKill(t: Test, dir: string, backend: string): Promise<string> {
  const run = floeRun(dir, backend, [], { WC_OUT: join(dir, 'out'), WC_SLOW_MS: '2.5' });
  for (;;) {
    const [job] = jobDirs(dir);
    const newest = job ? (await listCheckpoints(join(dir, 'chk', job))).find((c) => !c.problem) : undefined;
    if (newest && (await hasDeltas(newest.dir))) break;
    if (run.child.exitCode !== null) throw new Error(`floe run ended before it was killed:\n${run.log()}`);
    await sleep(20);
  }
  run.child.kill('SIGKILL');
  await run.exited;
  t.ok(visibleLines(join(dir, 'out')).length < expectedLines(TEXT).length, 'killed in the middle of the input');
  return join(dir, 'chk', jobDirs(dir)[0]!);
}

/** The word counts held by a checkpoint's 'count' operator, and the lines its source had read, from `--dump`. */
async function dumped(t: Test, path: string) {
  const [count, source] = await Promise.all([
    floe(['savepoint', 'inspect', path, '--dump', 'count']),
    floe(['savepoint', 'inspect', path, '--dump', 'source']),
  ]);
  t.equal(count.code, 0, count.stderr);
  const counts = new Map(
    count.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).value as [string, number]),
  );
  t.equal(source.code, 0, source.stderr);
  const splits = source.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((e) => e.state === 'splits')
    .map((e) => e.value);
  return { counts, read: linesRead(TEXT, splits, P) };
}

/** Registers the case for `backend` on the file's tap root. */
export function retainedCheckpointCase(backend: 'fs' | 'level'): void {
  // about ten floe processes: a minute on a busy machine, near .taprc's 120 s per file when the machine is very busy
  t.setTimeout(300_000);
  t.test(
    `${backend}: a killed job's retained checkpoints are inspected, and restored only into a job that matches their uids`,
    async (t) => {
      const dir = t.testdir({ 'in.txt': TEXT, 'other.txt': TEXT });
      const job = await runAndKill(t, dir, backend);
      const usable = (await listCheckpoints(job)).filter((c) => !c.problem);
      const newest = usable[0]!;
      const withDeltas = await Promise.all(usable.map((c) => hasDeltas(c.dir)));
      const incremental = usable[withDeltas.indexOf(true)]!;
      t.ok(
        incremental,
        `a checkpoint with deltas is retained (${usable.map((c, i) => `chk-${c.id}${withDeltas[i] ? ' with deltas' : ''}`).join(', ')})`,
      );

      // inspect: a job directory reads as -s reads it (its newest usable checkpoint), a chk-<n> directory as itself.
      // The offline reads run side by side: each is a floe process, seconds of start-up on a busy machine.
      const oldest = usable.at(-1)!;
      const [ofJob, ofChk, { counts, read }, stateless] = await Promise.all([
        floe(['savepoint', 'inspect', job]),
        floe(['savepoint', 'inspect', oldest.dir]),
        dumped(t, incremental.dir),
        floe(['savepoint', 'inspect', job, '--dump', 'tag']),
      ]);
      t.equal(ofJob.code, 0, ofJob.stderr);
      t.match(
        ofJob.stdout,
        new RegExp(
          `^checkpoint ${newest.dir}\\n  job ${job.split('/').at(-1)}, checkpoint ${newest.id}, taken .*, max parallelism 128, ${withDeltas[0] ? 'incremental' : 'full'}\\n`,
        ),
        'says it is a checkpoint, which one, of which job',
      );
      t.match(
        ofJob.stdout,
        /\n {2}operator count: parallelism 2, [\d.]+ (B|KiB) keyed state\n {4}_reduce \(value\): \d+ keys, \d+ entries\n/,
      );
      t.match(ofJob.stdout, /\n {2}operator tag: parallelism 2\n {4}\(no state\)\n/);
      t.equal(ofChk.code, 0, ofChk.stderr);
      t.match(
        ofChk.stdout,
        new RegExp(`^checkpoint ${oldest.dir}\\n.*, checkpoint ${oldest.id}, .*, ${withDeltas.at(-1) ? 'incremental' : 'full'}\\n`),
        'a chk-<n> directory is read as itself',
      );
      // --dump of an incremental chain (a full snapshot and its deltas) gives exactly the counts of the lines its source had read
      t.ok(read.length > 0 && read.length < TEXT.length, 'taken in the middle of the input');
      t.same(new Map([...counts].sort()), new Map([...countWords(read)].sort()), 'the dumped counts are those of the lines read');
      t.equal(stateless.code, 0, stateless.stderr);
      t.equal(stateless.stdout, '', 'nothing on stdout: the JSON lines stay JSON');
      t.equal(stateless.stderr.trim(), `operator 'tag' has no state in checkpoint ${newest.dir}`);

      // the counting operator's uid changed: refused before anything runs, naming the uids
      const from = backend === 'fs' ? ['-s', job] : ['--from-checkpoint', newest.dir];
      const refused = floeRun(dir, backend, from, { WC_OUT: join(dir, 'out-refused'), WC_COUNT_UID: 'counter' });
      t.not(await refused.exited, 0, 'rc != 0');
      t.match(
        refused.log(),
        new RegExp(
          `^error FLOE_SAVEPOINT_UNMATCHED_STATE: checkpoint ${newest.dir} has state for operator uid\\(s\\) 'count' that the job does not have \\(job uids: source, slow, split, tag, counter, sink\\)$`,
          'm',
        ),
      );
      t.match(
        refused.log(),
        /^hint: give those operators the same \.uid\(\.\.\.\) as before, or skip that state with --allow-non-restored-state$/m,
      );
      t.same(jobDirs(dir).length, 1, 'no job was started');
      t.same(visibleLines(join(dir, 'out-refused')), [], 'nothing written');

      // Two restores of the same retained checkpoint, side by side (no-claim: neither changes it; separate job and output directories).
      // The input file's path changed: the restored source goes on reading the file its position names, and says so.
      const moved = floeRun(dir, backend, ['-s', job], { WC_OUT: join(dir, 'out-moved'), WC_INPUT: join(dir, 'other.txt') });
      // allowed: the job runs without the unmatched state and says so; its counts start again from 0
      const allowed = floeRun(dir, backend, ['-s', job, '--allow-non-restored-state'], {
        WC_OUT: join(dir, 'out-allowed'),
        WC_COUNT_UID: 'counter',
      });
      const [movedCode, allowedCode, atNewest] = await Promise.all([moved.exited, allowed.exited, dumped(t, newest.dir)]);
      t.equal(movedCode, 0, moved.log());
      t.match(
        moved.log(),
        `warning: source 'source' goes on reading ${join(dir, 'in.txt')}, the file its restored read position names, not ${join(dir, 'other.txt')}, the file the job names`,
      );
      t.match(moved.log(), `, restored from checkpoint ${newest.id} (${newest.dir})\n`);
      t.same(
        [...visibleLines(join(dir, 'out')), ...visibleLines(join(dir, 'out-moved'))].sort(),
        expectedLines(TEXT),
        'exactly once over both output directories',
      );

      t.equal(allowedCode, 0, allowed.log());
      t.match(allowed.log(), `, restored from checkpoint ${newest.id} (${newest.dir}) (state of count not restored)`);
      const [w0, total] = [...countWords(TEXT)].sort((a, b) => b[1] - a[1])[0]!;
      const before = atNewest.counts.get(w0)!;
      t.ok(before > 0, `the checkpoint had counted '${w0}' ${before} times`);
      const last = Math.max(
        ...visibleLines(join(dir, 'out-allowed'))
          .map((l) => JSON.parse(l) as [string, number])
          .filter(([w]) => w === w0)
          .map(([, n]) => n),
      );
      t.equal(last, total - before, `'${w0}' counted from 0 again: ${last} instead of ${total}`);
    },
  );
}
