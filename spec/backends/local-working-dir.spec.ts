// A job's local directories: claimed with their owner, swept only when that process is gone; the level backend's open failures with their system code, and which failures a restart cannot heal.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Level } from 'level';
import { LevelStateBackend } from '../../src/backends/level-backend.ts';
import { LevelKeyedBackend } from '../../src/backends/level-keyed-backend.ts';
import { keyGroupRangeForSubtask } from '../../src/backends/key-groups.ts';
import { JobWorkingDir, OWNER_FILE, processAlive, sweepStaleJobDirs } from '../../src/backends/local-working-dir.ts';
import { describeCause, isPermanentSystemError, systemErrorOf } from '../../src/backends/system-error.ts';
import { CheckpointError, ConfigError, isUnrecoverable, JobExecutionError, UnrecoverableError } from '../../src/errors.ts';
import { FileTaskStateStorage } from '../helpers/file-task-state-storage.ts';

const keyedOptions = (dir: string, jobId: string) => ({
  jobId,
  operatorUid: 'count',
  subtaskIndex: 0,
  maxParallelism: 128,
  keyGroupRange: keyGroupRangeForSubtask(128, 1, 0),
  storage: new FileTaskStateStorage(join(dir, 'chk')),
});

/** A pid that was alive and has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

const own = (dir: string, owner: unknown) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify(owner));
  writeFileSync(join(dir, 'state'), 'x');
};

t.test(
  'claim: the job directory appears with its owner inside; under a regular file it fails with ENOTDIR; release removes it',
  async (t) => {
    const dir = t.testdir({ 'a-file': '' });
    const claimed = await JobWorkingDir.claim(join(dir, 'level'), 'job-1');
    t.equal(claimed.path, join(dir, 'level', 'job-1'));
    t.same(JSON.parse(readFileSync(join(claimed.path, OWNER_FILE), 'utf8')), { pid: process.pid, host: hostname() });
    t.same(readdirSync(join(dir, 'level')), ['job-1'], 'no staging directory left');
    await claimed.release();
    t.same(readdirSync(join(dir, 'level')), []);
    await t.rejects(JobWorkingDir.claim(join(dir, 'a-file', 'level'), 'job-2'), { code: 'ENOTDIR' });
  },
);

t.test('sweep: only directories whose owner process on this host is gone are removed', async (t) => {
  const dir = t.testdir();
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120_000)']);
  t.teardown(() => void live.kill('SIGKILL'));
  const dead = await deadPid();
  t.notOk(processAlive(dead), 'the exited process reads as dead');
  t.ok(processAlive(live.pid!), 'the sleeping one as alive');
  own(join(dir, 'dead'), { pid: dead, host: hostname() });
  own(join(dir, '.dead-staging'), { pid: dead, host: hostname() });
  own(join(dir, 'other-process'), { pid: live.pid, host: hostname() });
  own(join(dir, 'this-process'), { pid: process.pid, host: hostname() });
  own(join(dir, 'other-host'), { pid: dead, host: `not-${hostname()}` });
  own(join(dir, 'unreadable-owner'), 'not an owner');
  mkdirSync(join(dir, 'no-owner'));
  writeFileSync(join(dir, 'a-file'), '');
  const removed = await sweepStaleJobDirs(dir);
  t.same(removed.sort(), [join(dir, '.dead-staging'), join(dir, 'dead')]);
  t.same(readdirSync(dir).sort(), ['a-file', 'no-owner', 'other-host', 'other-process', 'this-process', 'unreadable-owner']);
  t.same(await sweepStaleJobDirs(join(dir, 'missing')), [], 'a parent that does not exist has nothing to sweep');
});

t.test("system errors: found under classic-level's wrapper or in LevelDB's text, and which ones a restart cannot heal", async (t) => {
  const dir = t.testdir({ 'a-file': '' });
  const db = new Level(join(dir, 'a-file', 'db'));
  const wrapped = await db.open().then(
    () => null,
    (e: unknown) => e as Error,
  );
  t.equal(wrapped?.message, 'Database failed to open', 'what classic-level says');
  t.equal(systemErrorOf(wrapped)?.code, 'ENOTDIR', 'what happened');
  t.match(describeCause(wrapped), /^ENOTDIR: not a directory, mkdir /);
  const native = new Error('Database failed to open', {
    cause: Object.assign(new Error('IO error: /d/LOCK: Permission denied'), { code: 'LEVEL_IO_ERROR' }),
  });
  t.equal(describeCause(native), 'EACCES: IO error: /d/LOCK: Permission denied', "the code put in front of LevelDB's text");
  t.ok(isPermanentSystemError(native));
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  t.notOk(isPermanentSystemError(full), 'a full disk can clear up');
  const locked = new Error('Database failed to open', {
    cause: Object.assign(new Error('IO error: lock /d/LOCK: already held by process'), { code: 'LEVEL_LOCKED' }),
  });
  t.notOk(isPermanentSystemError(locked));
  t.equal(describeCause(locked), 'IO error: lock /d/LOCK: already held by process', 'without a system code: the innermost message');
});

t.test('isUnrecoverable: unrecoverable and configuration errors, also as a cause; nothing else', async (t) => {
  const config = new ConfigError('FLOE_CONFIG_BAD_VALUE', 'bad');
  t.ok(isUnrecoverable(config));
  t.ok(isUnrecoverable(new UnrecoverableError('FLOE_LEVEL_LOCALDIR_UNUSABLE', 'never')));
  t.ok(isUnrecoverable(new JobExecutionError('FLOE_JOB_FAILED', 'wrapped', { cause: config })));
  t.notOk(isUnrecoverable(new CheckpointError('FLOE_CHECKPOINT_DECLINED', 'declined')));
  t.notOk(isUnrecoverable(new Error('user bug')));
  t.notOk(isUnrecoverable('a string'));
});

t.test(
  'a LevelDB that cannot open: FLOE_LEVEL_LOCALDIR_UNUSABLE with the path and ENOTDIR, unrecoverable, also from dispose',
  async (t) => {
    const dir = t.testdir({ 'a-file': '' });
    const b = new LevelKeyedBackend(keyedOptions(dir, 'job'), { localDir: join(dir, 'a-file') });
    const failure = await b.dispose().then(
      () => null,
      (e: unknown) => e as UnrecoverableError,
    );
    t.type(failure, UnrecoverableError);
    t.equal(failure?.code, 'FLOE_LEVEL_LOCALDIR_UNUSABLE');
    t.match(failure?.message, `cannot open the level backend's working directory ${b.location}: ENOTDIR: not a directory`);
    t.match(failure?.hint, /state\.backend\.level\.localdir/);
    t.ok(isUnrecoverable(failure));
  },
);

t.test(
  "the level backend: prepareJob refuses an unusable localdir with a coded error; releaseJob closes what tasks left open and removes the job's directory",
  async (t) => {
    const dir = t.testdir({ 'a-file': '' });
    const bad = new LevelStateBackend({ localDir: join(dir, 'a-file', 'level') });
    await t.rejects(bad.prepareJob('job'), {
      name: 'ConfigError',
      code: 'FLOE_LEVEL_LOCALDIR_NOT_WRITABLE',
      message: new RegExp(`in ${join(dir, 'a-file', 'level')}: ENOTDIR: `),
      hint: /state\.backend\.level\.localdir/,
    });
    // the localdir itself a regular file
    await t.rejects(new LevelStateBackend({ localDir: join(dir, 'a-file') }).prepareJob('job'), {
      code: 'FLOE_LEVEL_LOCALDIR_NOT_WRITABLE',
      message: /: EEXIST: /,
    });

    const backend = new LevelStateBackend({ localDir: join(dir, 'level') });
    own(join(dir, 'level', 'killed-run'), { pid: await deadPid(), host: hostname() });
    await backend.prepareJob('job');
    const keyed = backend.createKeyedBackend(keyedOptions(dir, 'job'));
    keyed.setCurrentKey('k');
    keyed.getState<number>({ kind: 'value', name: 'v' }).update(1);
    await keyed.endBatch();
    await keyed.snapshot(1).run(); // the database is open and holds files
    t.ok(existsSync((keyed as LevelKeyedBackend).location));
    // never disposed (a failed task closes in the background): the job's end closes it
    await backend.releaseJob('job');
    t.same(readdirSync(join(dir, 'level')), [], "the job's directory is gone, and the killed run's was swept when the job started");
    await backend.releaseJob('job'); // a second release has nothing to do
  },
);
