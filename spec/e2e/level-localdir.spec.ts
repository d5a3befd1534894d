// The level backend's local directories on real runs: an unusable localdir refused before any task starts, a permanent open failure not restarted, working dirs removed when a job ends and after a killed run, never a live run's.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { StreamExecutionEnvironment } from '../../src/api/stream-execution-environment.ts';
import { CollectSink } from '../../src/connectors/collect-sink.ts';
import { valueState } from '../../src/api/state.ts';
import { GatedSource, until, type Gate } from '../fixtures/gated-source.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/floe.js');
const jobFile = join(root, 'spec/fixtures/gated-count-job.ts');
const KEYS = 200;
const ROUNDS = 2;

/** One `floe run` of the gated count, its stderr collected; `name` keeps its gate and output apart from other runs in `dir`. */
class FloeRun {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `gate`: records the source may emit (KEYS * ROUNDS lets the run finish) */
  constructor(dir: string, name: string, extra: string[], gate: number) {
    writeFileSync(join(dir, `${name}.gate`), String(gate));
    this.child = spawn(
      process.execPath,
      [
        bin,
        'run',
        jobFile,
        '--state-backend',
        'level',
        '--checkpoint-dir',
        join(dir, 'chk'),
        '--checkpoint-interval',
        '100ms',
        '--rest-port',
        '0',
        ...extra,
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          KEYS: String(KEYS),
          ROUNDS: String(ROUNDS),
          GATE_FILE: join(dir, `${name}.gate`),
          OUT: join(dir, `${name}.out`),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get jobId(): string | undefined {
    return /job '.*' \(([0-9a-f]{32})\) running/.exec(this.log)?.[1];
  }

  /** Resolves once the job runs and `checkpoints` checkpoints completed (the first may precede any record). */
  async running(checkpoints = 1): Promise<string> {
    await until(() => {
      if (this.child.exitCode !== null) throw new Error(`floe run ended early:\n${this.log}`);
      return this.jobId !== undefined && (this.log.match(/^checkpoint \d+ completed/gm) ?? []).length >= checkpoints;
    }, 'the run to take a checkpoint');
    return this.jobId!;
  }
}

/** Entries of `dir` (none if it does not exist). */
const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

/** The working directories (level) and task-local copies (local recovery) flags of a run under `dir`. */
const localDirs = (dir: string) => [
  '-D',
  `state.backend.level.localdir=${join(dir, 'level')}`,
  '-D',
  'state.backend.local-recovery=true',
  '-D',
  `taskmanager.state.local.root-dirs=${join(dir, 'local')}`,
  // every snapshot part goes to a file, so each checkpoint leaves task-local copies
  '-D',
  'state.storage.fs.memory-threshold=0',
];

t.test('a localdir under a regular file: refused before any task starts, with the path and ENOTDIR, no restarts, no stack', async (t) => {
  const dir = t.testdir({ 'a-file': 'not a directory' });
  const localdir = join(dir, 'a-file', 'level');
  // checkpointing on: the default restart strategy is exponential-delay, which used to retry for good
  const run = new FloeRun(dir, 'bad', ['-D', `state.backend.level.localdir=${localdir}`], 0);
  const { code } = await run.exited;
  t.not(code, 0, 'exits non-zero');
  const lines = run.log.trimEnd().split('\n');
  const error = lines.find((l) => l.startsWith('error '));
  t.match(error, /^error FLOE_LEVEL_LOCALDIR_NOT_WRITABLE: /, 'one coded error line');
  t.match(error, localdir, 'naming the directory');
  t.match(error, /ENOTDIR/, 'and the system error code');
  t.match(lines[lines.indexOf(error!) + 1], /^hint: point state\.backend\.level\.localdir at /, 'a hint names the key to fix');
  t.notMatch(run.log, /^\s+at /m, 'no stack trace');
  t.notMatch(run.log, /running|restarting|task .* failed/, 'no task started, nothing restarted');
  t.same(entries(join(dir, 'chk')), [], 'refused before the job got a checkpoint directory');
});

t.test('a working directory that becomes unusable while the job runs: the next attempt fails the job at once, with ENOTDIR', async (t) => {
  const dir = t.testdir();
  const gate: Gate = { limit: 0, position: 0 };
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'state.backend.type': 'level',
    'state.backend.level.localdir': join(dir, 'level'),
    'state.checkpoints.dir': join(dir, 'chk'),
    // no checkpoints: the failure reaches the job master as a task failure, the path a restart strategy governs
    // a strategy that would restart a hundred times: the failure must not use any of them
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 100,
    'restart-strategy.fixed-delay.delay': 0,
  });
  const source = env.fromSource(new GatedSource([1, 2, 3], gate)).uid('source');
  source.transformation.fixedParallelism = 1;
  source
    .keyBy((n: number) => n)
    .process((n: number, ctx) => {
      if (ctx.attemptNumber === 0) throw new Error('injected: the first attempt fails once');
      ctx.getState(valueState<number>('seen', 0)).update(n);
      return n;
    })
    .uid('count')
    .sinkTo(new CollectSink<number>([]))
    .uid('sink');
  const client = await env.executeAsync('unusable-later');
  await until(
    () => client.getJobStatus() === 'RUNNING' && client.master.execution?.tasks.every((t) => t.phase === 'running') === true,
    'the tasks to run',
  );
  // the job's working directory becomes a regular file: every LevelDB of the next attempt fails to open with ENOTDIR
  const jobDir = join(dir, 'level', client.jobId);
  rmSync(jobDir, { recursive: true, force: true });
  writeFileSync(jobDir, 'in the way');
  gate.limit = 3; // the source ends: its one partial batch goes out
  const failure = await client.getJobExecutionResult().then(
    () => null,
    (e: unknown) => e as Error & { code: string; result: { restarts: number; status: string } },
  );
  t.ok(failure, 'the job failed');
  t.equal(failure!.code, 'FLOE_JOB_FAILED');
  t.equal(failure!.result.status, 'FAILED');
  t.equal(failure!.result.restarts, 1, 'only the injected failure was restarted');
  t.match(
    failure!.message,
    /cannot open the level backend's working directory .*ENOTDIR: not a directory/,
    'the cause and its code, not "Database failed to open"',
  );
  t.match(failure!.message, /not restarted: restarting cannot fix this/);
  t.match((failure!.cause as { code?: string }).code, 'FLOE_LEVEL_LOCALDIR_UNUSABLE');
  t.notOk(existsSync(jobDir), "the job's end removed what stood in for its working directory");
});

t.test('a finished run and a canceled run leave no working directory and no task-local copy', async (t) => {
  const dir = t.testdir();
  const finished = new FloeRun(dir, 'finished', localDirs(dir), KEYS * ROUNDS);
  t.equal((await finished.exited).code, 0, `finished${finished.log}`);
  t.match(finished.log, /checkpoint \d+ completed/, 'a checkpoint wrote task-local copies');
  t.same(entries(join(dir, 'level')), [], 'no working directory left');
  t.same(entries(join(dir, 'local')), [], 'no task-local copy left');

  const canceled = new FloeRun(dir, 'canceled', localDirs(dir), KEYS);
  const jobId = await canceled.running(2);
  t.ok(entries(join(dir, 'level', jobId)).length > 1, 'while it runs: its owner file and one LevelDB per keyed subtask');
  t.ok(entries(join(dir, 'local', jobId)).length > 1, 'while it runs: task-local copies');
  canceled.child.kill('SIGINT');
  await canceled.exited;
  t.match(canceled.log, /job CANCELED/);
  t.same(entries(join(dir, 'level')), [], 'no working directory left');
  t.same(entries(join(dir, 'local')), [], 'no task-local copy left');
});

t.test("a killed run's directories are removed by the next run; a live run's, in another process, are kept", async (t) => {
  const dir = t.testdir();
  const live = new FloeRun(dir, 'live', localDirs(dir), KEYS);
  const liveId = await live.running(2);
  const killed = new FloeRun(dir, 'killed', localDirs(dir), KEYS);
  const killedId = await killed.running(2);
  killed.child.kill('SIGKILL');
  t.equal((await killed.exited).signal, 'SIGKILL');
  t.ok(entries(join(dir, 'level', killedId)).length > 1, 'the killed run left its LevelDBs');
  t.ok(entries(join(dir, 'local', killedId)).length > 1, 'and its task-local copies');

  const next = new FloeRun(dir, 'next', localDirs(dir), KEYS * ROUNDS);
  t.equal((await next.exited).code, 0, `the next run finished${next.log}`);
  t.same(entries(join(dir, 'level')), [liveId], "the killed run's working directory is gone, the live run's kept");
  t.same(entries(join(dir, 'local')), [liveId], 'the same for task-local copies');
  t.ok(entries(join(dir, 'level', liveId)).length > 1, 'with its LevelDBs in it');

  await live.running(4); // the live run still checkpoints: its directories were not pulled from under it
  live.child.kill('SIGINT');
  await live.exited;
  t.match(live.log, /job CANCELED/);
  t.same(entries(join(dir, 'level')), [], 'the live run removed its own when it ended');
  t.same(entries(join(dir, 'local')), []);
});
