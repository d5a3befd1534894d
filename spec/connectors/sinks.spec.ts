// PrintSink's Flink-style lines and buffering; CollectSink's in-memory two-phase commit across restarts.
import t from 'tap';
import { CollectSink } from '../../src/connectors/collect-sink.ts';
import { PrintSink } from '../../src/connectors/print-sink.ts';
import type { OperatorContext, StreamOperator } from '../../src/operators/operator.ts';
import { freshContexts, operatorContext, restoredContexts, snapshotAll } from '../helpers/operator-context.ts';

function openWriters<T>(sink: { createWriter(): StreamOperator<T, never> }, contexts: OperatorContext[]) {
  return contexts.map((ctx) => {
    const w = sink.createWriter();
    w.open(ctx, { collect() {} });
    return w;
  });
}

function textOut() {
  const chunks: string[] = [];
  return { chunks, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

t.test('print: lines like Flink print(), flushed at checkpoints, end of input and close', async (t) => {
  t.equal(new PrintSink().out, process.stdout);
  const one = textOut();
  const [w] = openWriters(new PrintSink('', { out: one }), [operatorContext()]);
  w!.processElement('hello');
  w!.processElement({ word: 'a', n: 2 });
  w!.processElement(3n);
  t.same(one.chunks, [], 'buffered');
  w!.snapshotState!(1);
  t.equal(one.text(), 'hello\n{"word":"a","n":2}\n3\n');
  w!.processElement(undefined);
  w!.endInput!();
  w!.close!();
  t.equal(one.text(), 'hello\n{"word":"a","n":2}\n3\nundefined\n');

  const many = textOut();
  const ws = openWriters(new PrintSink('', { out: many }), freshContexts(3));
  ws[1]!.processElement('x');
  ws[1]!.close!();
  t.equal(many.text(), '2> x\n');

  const named = textOut();
  openWriters(new PrintSink('out', { out: named }), freshContexts(2)).forEach((w, i) => {
    w.processElement(i);
    w.close!();
  });
  t.equal(named.text(), 'out:1> 0\nout:2> 1\n');
  const namedOne = textOut();
  const [n1] = openWriters(new PrintSink('out', { out: namedOne }), [operatorContext()]);
  n1!.processElement('r');
  n1!.close!();
  t.equal(namedOne.text(), 'out> r\n');
});

t.test('print: writes in chunks of about 64 KiB, not per record', async (t) => {
  const out = textOut();
  const [w] = openWriters(new PrintSink('', { out }), [operatorContext()]);
  for (let i = 0; i < 100_000; i++) w!.processElement(`record number ${i}`);
  w!.close!();
  t.ok(out.chunks.length > 10 && out.chunks.length < 50, `${out.chunks.length} writes`);
  t.equal(out.text().split('\n').length, 100_001);
});

t.test('collect: records reach the target only when their checkpoint completes', async (t) => {
  const target: string[] = [];
  const sink = new CollectSink(target);
  const [w] = openWriters(sink, freshContexts(1));
  w!.processElement('a');
  w!.processElement('b');
  w!.snapshotState!(1);
  w!.processElement('c');
  w!.snapshotState!(2);
  t.same(target, []);
  w!.notifyCheckpointComplete!(1);
  t.same(target, ['a', 'b']);
  w!.notifyCheckpointAborted?.(2);
  w!.processElement('d');
  w!.snapshotState!(3);
  w!.notifyCheckpointComplete!(3);
  t.same(target, ['a', 'b', 'c', 'd']);
  w!.endInput!(); // checkpointing on: the final checkpoint commits, not endInput
  w!.close!();
  t.same(target, ['a', 'b', 'c', 'd']);
  t.throws(() => new CollectSink(null as unknown as unknown[]), TypeError);
});

t.test('collect: exactly once across a failure and restore', async (t) => {
  const target: number[] = [];
  const sink = new CollectSink(target);
  const ctx = freshContexts(1);
  const [w] = openWriters(sink, ctx);
  [1, 2].forEach((r) => w!.processElement(r));
  w!.snapshotState!(1);
  const snap1 = snapshotAll(ctx); // checkpoint 1 completes, the sink is not told before the failure
  [3].forEach((r) => w!.processElement(r));
  w!.snapshotState!(2); // never completes
  [4].forEach((r) => w!.processElement(r));
  w!.close!();
  t.same(target, []);

  const ctxB = restoredContexts(snap1, 1, 1);
  const [w2] = openWriters(sink, ctxB);
  t.same(target, [1, 2], 'the restored checkpoint is committed at open');
  [3, 4, 5].forEach((r) => w2!.processElement(r)); // replayed
  w2!.snapshotState!(2);
  const snap2 = snapshotAll(ctxB);
  w2!.notifyCheckpointComplete!(2); // told this time, then the job fails again
  w2!.processElement(6);
  w2!.close!();

  const [w3] = openWriters(sink, restoredContexts(snap2, 1, 2));
  t.same(target, [1, 2, 3, 4, 5], 'a restore does not commit a checkpoint twice');
  w3!.processElement(6);
  w3!.snapshotState!(3);
  w3!.notifyCheckpointComplete!(3);
  t.same(target, [1, 2, 3, 4, 5, 6]);
});

t.test('collect: endInput commits when checkpointing is off; rescaled restore commits every subtask', async (t) => {
  const target: string[] = [];
  const ws = openWriters(new CollectSink(target), freshContexts(2, { checkpointingEnabled: false }));
  ws[0]!.processElement('a');
  ws[1]!.processElement('b');
  ws.forEach((w) => w.endInput!());
  t.same(target.sort(), ['a', 'b']);

  const out: string[] = [];
  const sink = new CollectSink(out);
  const ctx = freshContexts(3);
  const w3 = openWriters(sink, ctx);
  w3.forEach((w, i) => w.processElement(`s${i}`));
  w3.forEach((w) => w.snapshotState!(1));
  const snap = snapshotAll(ctx);
  w3.forEach((w) => w.close!());
  openWriters(sink, restoredContexts(snap, 1, 1));
  t.same(out.sort(), ['s0', 's1', 's2']);
});
