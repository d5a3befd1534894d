// End to end on real checkpoint files: exactly-once word count on fs with restarts, corruption fallback, write failures, local recovery, restore from disk.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';
import type { FileCheckpointStorage } from '../../src/storage/file-checkpoint-storage.ts';
import type { RestoreWarning } from '../../src/storage/types.ts';
import { GatedSource, until, type Gate } from '../fixtures/gated-source.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines as expectedOutput, runWordCount, visibleLines } from '../fixtures/wordcount-job.ts';

const TEXT = generateText(60_000, { seed: 5, vocabulary: 1500 });
const WORDS = TEXT.split(/\s+/).filter(Boolean);

const expectedLines = (text = TEXT) => expectedOutput(text);
const outputLines = (out: string) => visibleLines(out).sort();

const storageOf = (client: JobClient) => client.master.settings.storage as FileCheckpointStorage;

function fsConfig(dir: string, extra: Record<string, unknown> = {}) {
  return {
    'parallelism.default': 2,
    'state.backend.type': 'fs',
    'state.checkpoints.dir': join(dir, 'checkpoints'),
    'state.storage.fs.memory-threshold': '0b', // every part a file, so files are what gets restored
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 5,
    'restart-strategy.fixed-delay.delay': '10ms',
    ...extra,
  };
}

t.test('exactly-once word count on fs with two restarts; num-retained checkpoints stay on disk', async (t) => {
  const text = generateText(60_000, { seed: 11, vocabulary: 3000 });
  const dir = t.testdir({ 'in.txt': text });
  const { result, client, restoredFrom, lines } = await runWordCount({
    name: 'wordcount-fs',
    input: join(dir, 'in.txt'),
    out: join(dir, 'out'),
    parallelism: 2,
    slowMs: 0.04,
    config: fsConfig(dir, {
      'execution.checkpointing.interval': '40ms',
      'state.checkpoints.num-retained': 2,
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    }),
    failures: [
      { attempt: 0, afterCheckpoints: 1 },
      { attempt: 1, afterCheckpoints: 1 },
    ],
  });
  t.equal(result.status, 'FINISHED');
  t.equal(result.restarts, 2);
  t.ok(
    restoredFrom.slice(1).every((r) => r !== null),
    `every restart restored a checkpoint (${restoredFrom.join(', ')})`,
  );
  t.same(lines.sort(), expectedLines(text), 'every ["w",i] exactly once');
  const storage = storageOf(client);
  t.ok(storage.stats.filesWritten > 0 && storage.stats.remoteReads > 0, 'state went through files and came back from them');
  const chks = readdirSync(storage.jobDir).filter((f) => f.startsWith('chk-'));
  t.equal(chks.length, 2, `num-retained 2: ${chks.join(', ')}`);
  for (const c of chks) t.ok(existsSync(join(storage.jobDir, c, '_metadata')));
});

type Damage = (chkDir: string) => void;
const stateFile = (chkDir: string) =>
  join(
    chkDir,
    readdirSync(chkDir).find((f) => f !== '_metadata' && !f.startsWith('_'))!,
  );
const damages: Record<string, Damage> = {
  'truncated _metadata': (c) => truncateSync(join(c, '_metadata'), 100),
  'flipped bytes in a state file': (c) => {
    const f = stateFile(c);
    const b = readFileSync(f);
    for (let i = 20; i < 30; i++) b[i] = b[i]! ^ 0x5a;
    writeFileSync(f, b);
  },
  'a deleted shared file': (c) => {
    // the heap backend's parts are exclusive: each checkpoint also references a shared file of its own (see runWithDamage)
    const shared = join(c, '..', 'shared');
    const own = readdirSync(shared).filter((f) => f.startsWith(`extra-${basename(c).slice(4)}-`));
    if (own.length !== 1) throw new Error(`expected one shared file of ${c}, found ${own.join(', ')}`);
    rmSync(join(shared, own[0]!));
  },
};

/** Runs a gated word count: checkpoints 1 and 2 at the same position, `damage` applied to the given checkpoints, then a failure. */
async function runWithDamage(t: Test, damage: Damage, damaged: number[]) {
  const dir = t.testdir();
  const gate: Gate = { limit: 0, position: 0 };
  const env = StreamExecutionEnvironment.getExecutionEnvironment(
    fsConfig(dir, {
      'execution.checkpointing.interval': '1h', // checkpoints are triggered by the spec
      'state.checkpoints.num-retained': 2,
    }),
  );
  let armed = false;
  const source = env.fromSource(new GatedSource(WORDS, gate)).uid('source');
  source.transformation.fixedParallelism = 1;
  source
    .map((w: string) => {
      if (armed) {
        armed = false;
        throw new Error('injected failure after the damage');
      }
      return [w, 1] as [string, number];
    })
    .uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(new FileSink(join(dir, 'out')))
    .uid('sink');
  const client = await env.executeAsync('gated');
  const warnings: RestoreWarning[] = [];
  const restoredFrom: Array<number | null> = [];
  client.on('restore-fallback', (w) => warnings.push(w));
  client.on('running', ({ restoredFrom: r }) => restoredFrom.push(r));
  const storage = storageOf(client);
  // every checkpoint also references a shared file of its own, as incremental backends write them
  const persist = storage.persist.bind(storage);
  storage.persist = async (cp) => {
    const shared = await storage.forSubtask(`extra-${cp.id}`, 0).write(cp.id, 'shared', Buffer.alloc(64, cp.id));
    return persist({ ...cp, operators: { ...cp.operators, extra: { parallelism: 1, subtasks: [{ keyed: shared, operator: {} }] } } });
  };
  await until(() => restoredFrom.length === 1, 'the job to run');
  gate.limit = Math.floor(WORDS.length / 2);
  await until(() => gate.position === gate.limit, 'the first half');
  t.equal((await client.triggerCheckpoint()).id, 1);
  t.equal((await client.triggerCheckpoint()).id, 2);
  for (const id of damaged) damage(storage.checkpointDir(id));
  armed = true;
  gate.limit = WORDS.length;
  const result = await client.getJobExecutionResult().catch((e) => e);
  return { dir, result, warnings, restoredFrom };
}

for (const [name, damage] of Object.entries(damages)) {
  t.test(`${name} in the latest checkpoint: the job falls back to the previous retained one, exactly once`, async (t) => {
    const { dir, result, warnings, restoredFrom } = await runWithDamage(t, damage, [2]);
    t.equal(result.status, 'FINISHED');
    t.same(restoredFrom, [null, 1], 'restored from checkpoint 1');
    t.equal(warnings.length, 1);
    t.match(warnings[0], { checkpoint: /chk-2$/ }, `why: ${warnings[0]?.reason}`);
    t.same(outputLines(join(dir, 'out')), expectedLines(), 'every ["w",i] exactly once');
  });
}

t.test('with every retained checkpoint damaged the job fails with an error listing what was tried', async (t) => {
  const { result, warnings } = await runWithDamage(t, damages['truncated _metadata']!, [1, 2]);
  t.equal(result.code, 'FLOE_NO_USABLE_CHECKPOINT');
  t.match(result.message, /chk-2: .*truncated.*chk-1: .*truncated/);
  t.equal(warnings.length, 2);
});

t.test('a checkpoint that cannot be written is declined, the job goes on, a later one completes', async (t) => {
  const dir = t.testdir();
  const gate: Gate = { limit: 0, position: 0 };
  const env = StreamExecutionEnvironment.getExecutionEnvironment(
    fsConfig(dir, {
      'execution.checkpointing.interval': '1h',
      'execution.checkpointing.tolerable-failed-checkpoints': 1,
    }),
  );
  const source = env.fromSource(new GatedSource(WORDS, gate)).uid('source');
  source.transformation.fixedParallelism = 1;
  source
    .map((w: string) => [w, 1] as [string, number])
    .uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(new FileSink(join(dir, 'out')))
    .uid('sink');
  const client = await env.executeAsync('disk-trouble');
  const storage = storageOf(client);
  const failed: string[] = [];
  client.on('checkpoint-failed', (_id, reason) => failed.push(reason));
  gate.limit = 20_000;
  await until(() => gate.position === gate.limit, 'the first part');
  t.equal((await client.triggerCheckpoint()).id, 1);
  // the job's checkpoint directory becomes a file: works as root, where chmod would not
  renameSync(storage.jobDir, `${storage.jobDir}.away`);
  writeFileSync(storage.jobDir, 'in the way');
  gate.limit = 40_000;
  await until(() => gate.position === gate.limit, 'the second part');
  await t.rejects(client.triggerCheckpoint(), { code: 'FLOE_CHECKPOINT_ABORTED' });
  t.match(failed[0], /FLOE_CHECKPOINT_WRITE_FAILED|cannot write|not a directory|ENOTDIR|EEXIST/, `declined with the cause: ${failed[0]}`);
  t.equal(client.getJobStatus(), 'RUNNING', 'the job goes on');
  rmSync(storage.jobDir);
  renameSync(`${storage.jobDir}.away`, storage.jobDir);
  t.equal((await client.triggerCheckpoint()).id, 3, 'the next checkpoint completes');
  gate.limit = WORDS.length;
  const result = await client.getJobExecutionResult();
  t.equal(result.status, 'FINISHED');
  t.same(outputLines(join(dir, 'out')), expectedLines(), 'nothing lost, nothing twice');
});

t.test('local recovery: a task restarting in the same process reads its task-local copy, not the checkpoint directory', async (t) => {
  const dir = t.testdir();
  const gate: Gate = { limit: 0, position: 0 };
  const env = StreamExecutionEnvironment.getExecutionEnvironment(
    fsConfig(dir, {
      'execution.checkpointing.interval': '1h',
      'state.backend.local-recovery': true,
      'taskmanager.state.local.root-dirs': join(dir, 'local'),
    }),
  );
  let armed = false;
  const source = env.fromSource(new GatedSource(WORDS, gate)).uid('source');
  source.transformation.fixedParallelism = 1;
  source
    .map((w: string) => {
      if (armed) {
        armed = false;
        throw new Error('injected');
      }
      return [w, 1] as [string, number];
    })
    .uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(new FileSink(join(dir, 'out')))
    .uid('sink');
  const client = await env.executeAsync('local');
  const storage = storageOf(client);
  gate.limit = 30_000;
  await until(() => gate.position === gate.limit, 'the first part');
  await client.triggerCheckpoint();
  t.ok(readdirSync(join(dir, 'local')).length > 0, 'task-local copies written');
  t.equal(storage.stats.remoteReads, 0);
  armed = true;
  gate.limit = WORDS.length;
  const result = await client.getJobExecutionResult();
  t.equal(result.restarts, 1);
  t.equal(storage.stats.remoteReads, 0, 'nothing read from the checkpoint directory');
  t.equal(storage.stats.localReads, 2, 'both keyed subtasks restored from their local copy');
  t.same(outputLines(join(dir, 'out')), expectedLines());
  t.notOk(existsSync(join(dir, 'local', client.jobId)), 'local copies removed when the job ends');
});

t.test('restore from disk: a canceled job (RETAIN_ON_CANCELLATION) resumes in a new job from its checkpoint directory', async (t) => {
  const text = generateText(40_000, { seed: 9, vocabulary: 800 });
  const dir = t.testdir({ 'in.txt': text });
  const build = (env: StreamExecutionEnvironment) =>
    env
      .readTextFile(join(dir, 'in.txt'))
      .uid('source')
      .map((line: string) => {
        const until = performance.now() + 0.3; // slow enough that the job is still running at its third checkpoint
        while (performance.now() < until);
        return line;
      })
      .uid('slow')
      .flatMap((l: string) => l.split(' ').filter(Boolean))
      .uid('split')
      .map((w: string) => [w, 1] as [string, number])
      .uid('tag')
      .keyBy((x) => x[0])
      .reduce((a, b) => [a[0], a[1] + b[1]])
      .uid('count')
      .sinkTo(new FileSink(join(dir, 'out')))
      .uid('sink');
  const conf = fsConfig(dir, {
    'execution.checkpointing.interval': '30ms',
    'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
  });
  const env1 = StreamExecutionEnvironment.getExecutionEnvironment(conf);
  build(env1);
  const first = await env1.executeAsync('first');
  let completed = 0;
  first.on('checkpoint-completed', () => ++completed === 3 && void first.cancel());
  t.equal((await first.getJobExecutionResult()).status, 'CANCELED');
  const jobDir = storageOf(first).jobDir;
  t.ok(existsSync(jobDir), 'checkpoints kept on cancel');

  const missing = StreamExecutionEnvironment.getExecutionEnvironment({ ...conf, 'execution.state-recovery.path': join(dir, 'nope') });
  build(missing);
  await t.rejects(
    missing.executeAsync(),
    { code: 'FLOE_CHECKPOINT_NOT_FOUND' },
    'a restore path that does not exist fails before the job starts',
  );
  const env2 = StreamExecutionEnvironment.getExecutionEnvironment({ ...conf, 'execution.state-recovery.path': jobDir });
  build(env2);
  const second = await env2.executeAsync('second');
  const restored: Array<number | null> = [];
  second.on('running', ({ restoredFrom }) => restored.push(restoredFrom));
  t.equal((await second.getJobExecutionResult()).status, 'FINISHED');
  t.ok(restored[0]! >= 3, `restored from checkpoint ${restored[0]}`);
  t.same(outputLines(join(dir, 'out')), expectedLines(text), 'the two runs together: every ["w",i] exactly once');
});

t.test('fs without a checkpoint directory fails with a clear error', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'state.backend.type': 'fs', 'execution.checkpointing.interval': '1s' });
  env.fromSequence(1, 10).sinkTo(new FileSink(join(t.testdir(), 'out')));
  await t.rejects(env.executeAsync(), { code: 'FLOE_CHECKPOINT_DIR_MISSING', hint: /--checkpoint-dir/ });
});
