// Restoring from a damaged or mismatched savepoint fails before any task starts, each with its own code; inspect, rename-uid, dispose.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Savepoint } from '../../src/index.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { expectedLines, visibleLines, wordCountEnv } from '../fixtures/wordcount-job.ts';

const TEXT = generateText(20_000, { seed: 9, vocabulary: 500 });

t.test('savepoint validation, inspection and repair', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT, sp: {} });
  const input = join(dir, 'in.txt');
  const client = await wordCountEnv({ input, out: join(dir, 'first'), parallelism: 2, slowMs: 0.3 }).executeAsync('wc');
  await new Promise<void>((r) => client.on('checkpoint-completed', () => r()));
  const original = await client.stopWithSavepoint(join(dir, 'sp'));
  const files = readdirSync(original).filter((f) => f !== '_metadata');
  t.ok(files.length >= 1, 'keyed state files beside _metadata');

  /** a copy of the savepoint, damaged by `damage`; restoring from it must fail with `code` and start nothing */
  let n = 0;
  const restoreFails = async (
    code: string,
    damage: (copy: string) => void | string,
    extra: Record<string, unknown> = {},
    countUid?: string,
  ) => {
    const copy = join(dir, `copy-${n++}`);
    cpSync(original, copy, { recursive: true });
    const path = damage(copy) ?? copy;
    const out = join(dir, `out-${n}`);
    const env = wordCountEnv({ input, out, parallelism: 2, countUid, config: { 'execution.savepoint.path': path, ...extra } });
    await t.rejects(env.executeAsync('wc'), { code }, code);
    t.same(visibleLines(out), [], `${code}: nothing ran`);
  };
  // a path that does not exist: the loader cannot tell a savepoint from a checkpoint, so one code serves both
  await restoreFails('FLOE_CHECKPOINT_NOT_FOUND', (c) => join(c, 'nope'));
  await restoreFails('FLOE_SAVEPOINT_METADATA_MISSING', (c) => rmSync(join(c, '_metadata')));
  await restoreFails('FLOE_SAVEPOINT_METADATA_CORRUPT', (c) =>
    truncateSync(join(c, '_metadata'), readFileSync(join(c, '_metadata')).length - 7),
  );
  await restoreFails('FLOE_SAVEPOINT_FILE_MISSING', (c) => rmSync(join(c, files[0]!)));
  await restoreFails('FLOE_SAVEPOINT_CHECKSUM_MISMATCH', (c) => {
    const bytes = readFileSync(join(c, files[0]!));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(join(c, files[0]!), bytes);
  });
  await restoreFails('FLOE_SAVEPOINT_VERSION_UNSUPPORTED', (c) => {
    const bytes = readFileSync(join(c, '_metadata'));
    bytes.writeUInt16BE(99, 8);
    writeFileSync(join(c, '_metadata'), bytes);
  });
  await restoreFails('FLOE_NOT_A_SAVEPOINT', (c) => writeFileSync(join(c, '_metadata'), 'a checkpoint, maybe'));
  await restoreFails('FLOE_SAVEPOINT_MAX_PARALLELISM_CHANGED', () => undefined, { 'pipeline.max-parallelism': 64 });
  // a retained checkpoint directory goes to the checkpoint loader, which validates it before the job starts, as a savepoint
  {
    const chk = join(dir, `copy-${n++}`, 'chk-3');
    mkdirSync(chk, { recursive: true });
    const out = join(dir, `out-${n}`);
    await t.rejects(
      wordCountEnv({ input, out, parallelism: 2, config: { 'execution.savepoint.path': chk } }).executeAsync('wc'),
      { code: 'FLOE_NO_USABLE_CHECKPOINT' },
      'an empty chk-3 is no usable checkpoint',
    );
    t.same(visibleLines(out), [], 'nothing ran');
  }
  await restoreFails('FLOE_SAVEPOINT_UNMATCHED_STATE', () => undefined, {}, 'counter');
  const err = await wordCountEnv({
    input,
    out: join(dir, 'x'),
    parallelism: 1,
    countUid: 'counter',
    config: { 'execution.savepoint.path': original },
  })
    .executeAsync('wc')
    .catch((e: Error & { hint?: string }) => e);
  t.match((err as Error).message, /'count'/, 'the error lists the unmatched uid');
  t.match((err as { hint?: string }).hint, /--allow-non-restored-state/, 'and names --allow-non-restored-state');

  // inspect: operators, state names and kinds, counts, bytes; dump entries
  const sp = await Savepoint.load(original);
  const ops = await sp.operators();
  const count = ops.find((o) => o.uid === 'count')!;
  t.equal(count.parallelism, 2);
  t.ok(count.bytes > 0);
  const reduceState = count.states.find((s) => s.kind === 'reducing' || s.kind === 'value');
  t.ok(reduceState, 'the reduce state is listed with its kind');
  const entries: unknown[] = [];
  for await (const e of sp.keyedEntries('count')) entries.push(e);
  t.equal(entries.length, reduceState!.keys, 'as many entries as keys');
  const source = ops.find((o) => o.uid === 'source')!;
  t.ok(
    source.states.some((s) => s.kind === 'operator-split'),
    'the source read position is split operator state',
  );
  await t.rejects(
    Promise.resolve().then(() => sp.operatorState('nope')),
    { code: 'FLOE_SAVEPOINT_UNKNOWN_UID' },
  );

  // --allow-non-restored-state: the job runs without that state (counts start over)
  const skipOut = join(dir, 'skip');
  cpSync(join(dir, 'first'), skipOut, { recursive: true }); // the sink's restored transactions name files of its directory
  const skipped = await wordCountEnv({
    input,
    out: skipOut,
    parallelism: 1,
    countUid: 'counter',
    config: { 'execution.savepoint.path': original, 'execution.savepoint.ignore-unclaimed-state': true },
  }).executeAsync('wc');
  t.same(skipped.restoredFrom?.nonRestored, ['count']);
  t.equal((await skipped.getJobExecutionResult()).status, 'FINISHED');

  // rename-uid repairs the savepoint for the renamed job: the output is exact again
  const repaired = await sp.renameUid('count', 'counter', join(dir, 'repaired'));
  t.ok(repaired.operatorUids.includes('counter') && !repaired.operatorUids.includes('count'));
  await t.rejects(sp.renameUid('count', 'sink', join(dir, 'r2')), { code: 'FLOE_SAVEPOINT_UID_TAKEN' });
  const out = join(dir, 'first');
  const resumed = await wordCountEnv({
    input,
    out,
    parallelism: 3,
    slowMs: 0,
    countUid: 'counter',
    config: { 'execution.savepoint.path': repaired.path },
  }).executeAsync('wc');
  t.equal((await resumed.getJobExecutionResult()).status, 'FINISHED');
  t.same(visibleLines(out).sort(), expectedLines(TEXT), 'stop + restore through the repaired savepoint: exact');

  // dispose refuses what is not a savepoint
  await t.rejects(Savepoint.dispose(dir), { code: 'FLOE_SAVEPOINT_METADATA_MISSING' });
  await t.rejects(Savepoint.dispose(input), { code: 'FLOE_NOT_A_SAVEPOINT' });
  t.ok(existsSync(input));
  t.equal(await Savepoint.dispose(repaired.path), repaired.path);
  t.notOk(existsSync(repaired.path));
});

t.test('restore mode claim: the savepoint is deleted once a checkpoint of the new job completes', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT });
  const input = join(dir, 'in.txt');
  const client = await wordCountEnv({ input, out: join(dir, 'out'), parallelism: 1, slowMs: 0.3 }).executeAsync('wc');
  await new Promise<void>((r) => client.on('checkpoint-completed', () => r()));
  const sp = await client.cancelWithSavepoint(join(dir, 'sp'));
  const restored = await wordCountEnv({
    input,
    out: join(dir, 'out'),
    parallelism: 1,
    config: { 'execution.savepoint.path': sp, 'execution.savepoint-restore-mode': 'claim' },
  }).executeAsync('wc');
  await restored.getJobExecutionResult();
  await new Promise((r) => setTimeout(r, 50));
  t.notOk(existsSync(sp), 'claimed and deleted');
  t.same(visibleLines(join(dir, 'out')).sort(), expectedLines(TEXT));
});
