// FileSink on real directories: two-phase commit, restore, abort of leftovers, no overwrite.
import { readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { UnrecoverableError } from '../../src/errors.ts';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink } from '../../src/connectors/file-sink.ts';
import type { OperatorContext, StreamOperator } from '../../src/operators/operator.ts';
import { onFloeWarning, type FloeWarning } from '../../src/warnings.ts';
import { freshContexts, operatorContext, restoredContexts, snapshotAll } from '../helpers/operator-context.ts';

type Writer = StreamOperator<unknown, never>;

function openWriters(sink: FileSink, contexts: OperatorContext[]): Writer[] {
  sink.validate();
  return contexts.map((ctx) => {
    const w = sink.createWriter();
    w.open(ctx, { collect() {} });
    return w;
  });
}

const visible = (dir: string) =>
  readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .sort();
/** the hidden files of open transactions (in-progress, pending); lineage markers (.part.job-<id>) are left out */
const hidden = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.startsWith('.') && !n.startsWith('.part.job-'))
    .sort();
/** the lineage markers: one per job that committed in the directory */
const markers = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.startsWith('.part.job-'))
    .sort();
/** the contexts of a run with its own job id (a restored run gets a new one, as every run) */
const asJob = (jobId: string, contexts: OperatorContext[]) => contexts.map((c) => ({ ...c, jobId }));

/** The floe warnings the test sees. */
function warningsOf(t: Test): FloeWarning[] {
  const seen: FloeWarning[] = [];
  t.teardown(onFloeWarning((w) => void seen.push(w)));
  return seen;
}

/** every committed line, in part order */
const committed = (dir: string) =>
  visible(dir)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .flatMap((n) => readFileSync(join(dir, n), 'utf8').split('\n').slice(0, -1));

function write(w: Writer, records: unknown[]) {
  for (const r of records) w.processElement(r);
}

t.test('parts become visible only when their checkpoint completes', async (t) => {
  const dir = t.testdir();
  const sink = new FileSink(dir);
  const ctx = freshContexts(1);
  const [w] = openWriters(sink, ctx);
  t.same(readdirSync(dir), [], 'no empty file before the first record');
  write(w!, ['a', { n: 1 }, 2, null]);
  t.same(visible(dir), []);
  t.same(hidden(dir), ['.part-0-0.inprogress']);
  w!.snapshotState!(1);
  t.same(visible(dir), []);
  t.same(hidden(dir), ['.part-0-0.pending-1'], 'pre-committed under a name carrying the checkpoint');
  write(w!, ['b']);
  w!.snapshotState!(2);
  w!.snapshotState!(3); // nothing new: no empty part
  t.same(hidden(dir), ['.part-0-0.pending-1', '.part-0-1.pending-2']);
  w!.notifyCheckpointComplete!(1);
  t.same(visible(dir), ['part-0-0']);
  t.same(readFileSync(join(dir, 'part-0-0'), 'utf8'), 'a\n{"n":1}\n2\nnull\n');
  w!.notifyCheckpointComplete!(3); // completes everything up to 3 (checkpoint 2's notification got lost)
  t.same(visible(dir), ['part-0-0', 'part-0-1']);
  t.same(hidden(dir), []);
  w!.close!();
  t.same(committed(dir), ['a', '{"n":1}', '2', 'null', 'b']);
});

t.test('large output is written through the buffer in chunks', async (t) => {
  const dir = t.testdir();
  const ctx = freshContexts(1);
  const [w] = openWriters(new FileSink(dir, { partSuffix: '.txt' }), ctx);
  const records = Array.from({ length: 30_000 }, (_, i) => `record ${i} ✓`);
  write(w!, records);
  w!.snapshotState!(1);
  w!.notifyCheckpointComplete!(1);
  t.same(visible(dir), ['part-0-0.txt']);
  t.same(committed(dir), records);
});

t.test('crash after an uncompleted checkpoint: restore keeps exactly the records up to the restored one', async (t) => {
  const dir = t.testdir();
  const sink = new FileSink(dir);
  const ctx = freshContexts(1);
  const [w] = openWriters(sink, ctx);
  write(w!, ['r1', 'r2']);
  w!.snapshotState!(1);
  const snap1 = snapshotAll(ctx);
  // checkpoint 1 completes at the coordinator, but the job fails before the sink hears of it
  write(w!, ['r3']);
  w!.snapshotState!(2); // checkpoint 2 never completes
  write(w!, ['r4']);
  w!.close!(); // failure
  t.same(visible(dir), []);
  t.same(hidden(dir), ['.part-0-0.pending-1', '.part-0-1.pending-2']);

  const ctxB = restoredContexts(snap1, 1, 1);
  const [w2] = openWriters(sink, ctxB);
  t.same(visible(dir), ['part-0-0'], 'the restored checkpoint is committed at open');
  t.same(hidden(dir), [], 'transactions after it are aborted');
  write(w2!, ['r3', 'r4', 'r5']); // replayed by the sources
  w2!.snapshotState!(2);
  w2!.notifyCheckpointComplete!(2);
  w2!.close!();
  t.same(committed(dir), ['r1', 'r2', 'r3', 'r4', 'r5']);
  t.same(visible(dir), ['part-0-0', 'part-0-1'], 'part names continue after the restored counter');
});

t.test('restore commits pending parts that were committed already without error (idempotent)', async (t) => {
  const dir = t.testdir();
  const sink = new FileSink(dir);
  const ctx = freshContexts(1);
  const [w] = openWriters(sink, ctx);
  write(w!, ['x']);
  w!.snapshotState!(1);
  const snap = snapshotAll(ctx);
  w!.notifyCheckpointComplete!(1);
  w!.notifyCheckpointComplete!(1);
  write(w!, ['y']); // in progress when the job fails
  w!.close!();
  t.same(hidden(dir), [], 'close deletes the uncommitted in-progress part');
  const [again] = openWriters(sink, restoredContexts(snap, 1, 1));
  t.same(committed(dir), ['x']);
  write(again!, ['y']);
  again!.snapshotState!(2);
  again!.notifyCheckpointComplete!(2);
  t.same(committed(dir), ['x', 'y']);
  t.same(visible(dir), ['part-0-0', 'part-0-1']);
});

t.test('a commit whose files are both gone is an error with a code', async (t) => {
  const dir = t.testdir();
  const ctx = freshContexts(1);
  const [w] = openWriters(new FileSink(dir), ctx);
  write(w!, ['x']);
  w!.snapshotState!(1);
  writeFileSync(join(dir, 'unrelated'), '');
  for (const name of hidden(dir)) unlinkSync(join(dir, name));
  t.throws(() => w!.notifyCheckpointComplete!(1), { code: 'FLOE_SINK_COMMIT_FAILED' });
});

t.test(
  'restore into another directory (a savepoint restored with a new output): pending parts are found where they were pre-committed',
  async (t) => {
    const root = t.testdir({ old: {}, new: {} });
    const oldDir = join(root, 'old');
    const newDir = join(root, 'new');
    const ctx = freshContexts(2);
    const [a, b] = openWriters(new FileSink(oldDir), ctx);
    write(a!, ['a1']);
    write(b!, ['b1']);
    a!.snapshotState!(1);
    b!.snapshotState!(1);
    const snap = snapshotAll(ctx); // the savepoint: both parts pre-committed at 1
    a!.notifyCheckpointComplete!(1); // only subtask 0 heard of the completion before the job went down
    a!.close!();
    b!.close!();
    t.same(visible(oldDir), ['part-0-0']);
    t.same(hidden(oldDir), ['.part-1-0.pending-1']);

    const [c] = openWriters(new FileSink(newDir), restoredContexts(snap, 2, 1));
    t.same(
      visible(oldDir),
      ['part-0-0', 'part-1-0'],
      'the pending part is committed where it was pre-committed; the committed one is left as it is',
    );
    t.same(hidden(oldDir), []);
    t.same(readdirSync(newDir), [], 'nothing of the old run appears in the new directory');
    write(c!, ['after']);
    c!.snapshotState!(2);
    c!.notifyCheckpointComplete!(2);
    t.same(committed(newDir), ['after'], 'the restored job writes to its own directory');
  },
);

t.test("restore after the output was moved: pending parts are committed in the sink's directory", async (t) => {
  const root = t.testdir({ old: {} });
  const oldDir = join(root, 'old');
  const ctx = freshContexts(1);
  const [w] = openWriters(new FileSink(oldDir), ctx);
  write(w!, ['x']);
  w!.snapshotState!(1);
  const snap = snapshotAll(ctx);
  w!.close!();
  renameSync(oldDir, join(root, 'moved'));
  openWriters(new FileSink(join(root, 'moved')), restoredContexts(snap, 1, 1));
  t.same(committed(join(root, 'moved')), ['x']);
});

t.test('restore whose pre-committed part is gone everywhere: an unrecoverable error naming the paths and the fix, once', async (t) => {
  const root = t.testdir({ old: {}, new: {} });
  const oldDir = join(root, 'old');
  const ctx = freshContexts(1);
  const [w] = openWriters(new FileSink(oldDir), ctx);
  write(w!, ['x']);
  w!.snapshotState!(1);
  const snap = snapshotAll(ctx);
  w!.close!();
  rmSync(oldDir, { recursive: true }); // the user deleted the old output
  const error = t.throws(() => openWriters(new FileSink(join(root, 'new')), restoredContexts(snap, 1, 1))) as UnrecoverableError;
  t.ok(error instanceof UnrecoverableError, 'restarting cannot fix it');
  t.equal(error.code, 'FLOE_SINK_PENDING_FILE_MISSING');
  t.match(error.message, oldDir);
  t.match(error.message, join(root, 'new'));
  t.match(error.message, '.part-0-0.pending-1');
  t.match(error.hint, 'skipMissingPendingFiles');
  const [goOn] = openWriters(new FileSink(join(root, 'new'), { skipMissingPendingFiles: true }), restoredContexts(snap, 1, 1));
  write(goOn!, ['y']);
  goOn!.snapshotState!(2);
  goOn!.notifyCheckpointComplete!(2);
  t.same(committed(join(root, 'new')), ['y'], 'with skipMissingPendingFiles the job goes on without the lost part');
});

t.test('fresh start: leftovers of a failed first attempt are deleted and nothing is overwritten', async (t) => {
  const dir = t.testdir({
    'part-0-0': 'old 0\n',
    'part-0-4': 'old 4\n',
    'part-1-9': 'other subtask\n',
    '.part-0-5.inprogress': 'half\n',
    '.part-0-6.pending-3': 'never completed\n',
    '.part-1-2.inprogress': 'subtask 1 half\n',
    'notes.txt': 'not ours\n',
  });
  const sink = new FileSink(dir);
  const [w0] = openWriters(sink, [operatorContext({ subtaskIndex: 0, parallelism: 1 })]);
  t.same(hidden(dir), [], 'subtask 0 of 1 aborts the hidden files of every name');
  write(w0!, ['new']);
  w0!.snapshotState!(1);
  w0!.notifyCheckpointComplete!(1);
  t.same(visible(dir), ['notes.txt', 'part-0-0', 'part-0-4', 'part-0-5', 'part-1-9']);
  t.equal(readFileSync(join(dir, 'part-0-4'), 'utf8'), 'old 4\n');
  t.equal(readFileSync(join(dir, 'part-0-5'), 'utf8'), 'new\n');
});

t.test('endInput without checkpointing commits at once; with checkpointing it waits', async (t) => {
  const dir = t.testdir();
  const sink = new FileSink(join(dir, 'out', 'nested'));
  const [w] = openWriters(sink, freshContexts(1, { checkpointingEnabled: false }));
  write(w!, ['a', 'b']);
  w!.endInput!();
  w!.close!();
  t.same(committed(sink.dir), ['a', 'b']);
  t.same(hidden(sink.dir), []);

  const dir2 = t.testdir();
  const [c] = openWriters(new FileSink(dir2), freshContexts(1, { checkpointingEnabled: true }));
  write(c!, ['z']);
  c!.endInput!();
  t.same(visible(dir2), []);
  c!.snapshotState!(7); // the final checkpoint
  c!.notifyCheckpointComplete!(7);
  c!.close!();
  t.same(committed(dir2), ['z']);

  const dir3 = t.testdir();
  const [e] = openWriters(new FileSink(dir3), freshContexts(1, { checkpointingEnabled: false }));
  e!.endInput!();
  e!.close!();
  t.same(readdirSync(dir3), [], 'no records, no file');
});

t.test('subtasks share the directory; a rescale restore loses nothing and leaves nothing', async (t) => {
  const dir = t.testdir();
  const sink = new FileSink(dir);
  const ctx2 = freshContexts(2);
  const w2 = openWriters(sink, ctx2);
  write(w2[0]!, ['a0', 'a1']);
  write(w2[1]!, ['b0']);
  w2.forEach((w) => w.snapshotState!(1));
  w2[0]!.notifyCheckpointComplete!(1); // subtask 1 does not hear of it: two parts pending there
  write(w2[0]!, ['a2']);
  write(w2[1]!, ['b1', 'b2']);
  w2.forEach((w) => w.snapshotState!(2));
  const snap2 = snapshotAll(ctx2); // checkpoint 2 completes, but no sink hears of it
  write(w2[0]!, ['a3']);
  write(w2[1]!, ['b3']);
  w2.forEach((w) => w.snapshotState!(3)); // never completes
  write(w2[1]!, ['b4']);
  w2.forEach((w) => w.close!());
  t.same(visible(dir), ['part-0-0']);

  // 2 → 3: split state gives part-1-0 to new subtask 1 and part-1-1 to new subtask 2; new subtask 1
  // opens first and must not delete part-1-1 (pre-committed at 2, so it is not an aborted transaction)
  const ctx3 = restoredContexts(snap2, 3, 2);
  t.same(
    ctx3[2]!.operatorState
      .getListState<{ final: string }>('pending')
      .get()
      .map((x) => x.final),
    ['part-1-1'],
  );
  const w3 = openWriters(sink, ctx3);
  t.same(hidden(dir), [], 'checkpoint 3 is aborted for every old subtask');
  t.same(committed(dir).sort(), ['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
  write(w3[0]!, ['a3']);
  write(w3[1]!, ['b3', 'b4']);
  write(w3[2]!, ['c0']);
  w3.forEach((w) => w.snapshotState!(3));
  w3.forEach((w) => w.notifyCheckpointComplete!(3));
  const snap3 = snapshotAll(ctx3);
  write(w3[2]!, ['c1']);
  w3[2]!.snapshotState!(4);
  w3.forEach((w) => w.close!());
  t.same(visible(dir), ['part-0-0', 'part-0-1', 'part-0-2', 'part-1-0', 'part-1-1', 'part-1-2', 'part-2-0']);

  // 3 → 1: subtask 0 cleans up the hidden files of all old names
  const [w1] = openWriters(sink, restoredContexts(snap3, 1, 3));
  t.same(hidden(dir), []);
  write(w1!, ['c1']);
  w1!.snapshotState!(4);
  w1!.notifyCheckpointComplete!(4);
  t.same(committed(dir).sort(), ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3', 'b4', 'c0', 'c1']);
  t.ok(visible(dir).includes('part-0-3'));
});

t.test('validate creates the directory or fails with a code', async (t) => {
  const dir = t.testdir({ file: 'x' });
  new FileSink(join(dir, 'a', 'b')).validate();
  t.same(readdirSync(join(dir, 'a')), ['b']);
  t.throws(() => new FileSink(join(dir, 'file')).validate(), { code: 'FLOE_SINK_DIR_NOT_WRITABLE' });
  t.throws(() => new FileSink(join(dir, 'file', 'below')).validate(), { code: 'FLOE_SINK_DIR_NOT_WRITABLE' });
  t.throws(() => new FileSink(dir, { partPrefix: 'a/b' }), TypeError);
});

t.test('a run into the committed parts of another job warns once; restores of the job itself do not', async (t) => {
  const dir = t.testdir();
  const warnings = warningsOf(t);
  const ctxA = asJob('job-a', freshContexts(2));
  const wA = openWriters(new FileSink(dir), ctxA);
  write(wA[0]!, ['a']);
  wA.forEach((w) => w.snapshotState!(1));
  t.same(markers(dir), [], 'no marker before the first commit (a pre-committed part may still be aborted)');
  wA.forEach((w) => w.notifyCheckpointComplete!(1));
  t.same(markers(dir), ['.part.job-job-a'], 'the job leaves its marker with its first part');
  t.equal(readFileSync(join(dir, '.part.job-job-a'), 'utf8'), '', 'empty: a reader that reads it anyway gets no records');
  const snapA = snapshotAll(ctxA);
  wA.forEach((w) => w.close!());

  // restored from that checkpoint (or a savepoint: the same state) by a new run, at another parallelism
  const ctxB = asJob('job-b', restoredContexts(snapA, 3, 1));
  const wB = openWriters(new FileSink(dir), ctxB);
  write(wB[2]!, ['b']);
  wB.forEach((w) => w.snapshotState!(2));
  wB.forEach((w) => w.notifyCheckpointComplete!(2));
  const snapB = snapshotAll(ctxB);
  wB.forEach((w) => w.close!());
  const [wB2] = openWriters(new FileSink(dir), asJob('job-b2', restoredContexts(snapB, 1, 2)));
  wB2!.close!();
  t.same(warnings, [], 'restored runs continue their own output: no warning');
  t.same(markers(dir), ['.part.job-job-a'], "restored runs carry the first run's lineage");

  // the job run again from the start into the same directory
  const wC = openWriters(new FileSink(dir), asJob('job-c', freshContexts(2)));
  t.equal(warnings.length, 1, 'one warning for the job, not one per subtask');
  t.match(warnings[0], {
    code: 'FLOE_SINK_OTHER_JOB_PARTS',
    message: new RegExp(
      `${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} already holds 2 committed part files of another job \\(part-0-0, part-2-0\\)`,
    ),
    hint: /remove the directory .* or give the FileSink another directory; to continue .* restore it/,
  });
  write(wC[1]!, ['c']);
  wC.forEach((w) => w.snapshotState!(1));
  wC.forEach((w) => w.notifyCheckpointComplete!(1));
  t.same(markers(dir), ['.part.job-job-a', '.part.job-job-c']);
  t.same(committed(dir).sort(), ['a', 'b', 'c'], 'part names and contents as before: nothing overwritten');

  // a restore of job-a now finds job-c's parts beside its own
  openWriters(new FileSink(dir), asJob('job-a2', restoredContexts(snapB, 1, 2)));
  t.equal(warnings.length, 2, 'a restore into a directory another job wrote to warns too');
});

t.test('lineage edge cases: state of an older floe, a sink new to a restored job, parts deleted by hand', async (t) => {
  const dir = t.testdir({ 'part-0-0': 'x\n' });
  const warnings = warningsOf(t);
  // state written before lineages existed: counters without a job id; nothing to compare, so no warning
  const old = operatorContext();
  old.operatorState.getUnionListState('part-counters').update([{ subtask: 0, nextPart: 1 }]);
  const [w] = openWriters(new FileSink(dir), asJob('job-new', restoredContexts([old.operatorState.snapshot()], 1, 4)));
  t.same(warnings, [], 'restored state of an older floe: no warning');
  write(w!, ['y']);
  w!.snapshotState!(5);
  w!.notifyCheckpointComplete!(5);
  t.same(markers(dir), ['.part.job-job-new'], 'it starts a lineage from here on');

  // a sink added to a job restored from a savepoint has no state: it starts a lineage, checked as a fresh run
  const none = operatorContext();
  openWriters(new FileSink(dir), asJob('job-other', restoredContexts([none.operatorState.snapshot()], 1, 4)));
  t.equal(warnings.length, 1);
  t.match(warnings[0]?.code, 'FLOE_SINK_OTHER_JOB_PARTS');

  // parts deleted, directory kept: the markers are stale and go; no warning
  for (const name of visible(dir)) unlinkSync(join(dir, name));
  openWriters(new FileSink(dir), asJob('job-next', freshContexts(1)));
  t.equal(warnings.length, 1, 'no parts left: no warning');
  t.same(markers(dir), [], 'stale markers removed');
});

t.test("at the job's end its open transactions are settled by its last completed checkpoint", async (t) => {
  const dir = t.testdir();
  const sink = new FileSink(dir);
  const [w] = openWriters(sink, freshContexts(1));
  write(w!, ['a']);
  w!.snapshotState!(1); // checkpoint 1 completes, but the job is canceled before the sink hears of it
  write(w!, ['b']);
  w!.snapshotState!(2); // checkpoint 2 is aborted by the cancel
  write(w!, ['c']);
  w!.close!(); // cancel: the in-progress part is aborted
  t.same(hidden(dir), ['.part-0-0.pending-1', '.part-0-1.pending-2']);
  await sink.onJobEnd({ jobId: 'spec-job', status: 'CANCELED', lastCheckpointId: 1 });
  t.same(hidden(dir), [], 'nothing hidden left');
  t.same(committed(dir), ['a'], 'committed up to the last completed checkpoint, as a restore from it would');
  t.same(markers(dir), ['.part.job-spec-job']);

  const none = t.testdir();
  const noCheckpoint = new FileSink(none);
  const [v] = openWriters(noCheckpoint, freshContexts(1));
  write(v!, ['x']);
  v!.snapshotState!(1);
  v!.close!();
  await noCheckpoint.onJobEnd({ jobId: 'spec-job', status: 'FAILED', lastCheckpointId: null });
  t.same(readdirSync(none), [], 'no completed checkpoint: everything pending is deleted');
});
