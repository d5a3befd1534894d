// Barrier alignment scripts: which channels block, what is snapshotted, when alignments abort.
import t from 'tap';
import type { CheckpointingMode } from '../../src/checkpoint/types.ts';
import { barrier, barrierScript, data } from '../helpers/barrier-script.ts';

const setup = (channels: number, mode: CheckpointingMode) => barrierScript(channels, mode);

t.test('exactly-once: a channel that delivered the barrier is blocked; its input waits until alignment ends, in order', async (t) => {
  const s = setup(3, 'exactly-once');
  s.feed(0, data('a1'), barrier(1), data('a2'), data('a3'));
  s.feed(1, data('b1'));
  s.run();
  t.same(s.log, ['start 1', 'block 0']);
  t.same(s.processed, ['0:a1', '1:b1'], 'a2, a3 stay queued behind the barrier');
  t.ok(s.gate.isBlocked(0));
  s.feed(1, barrier(1));
  s.tick(7);
  s.feed(2, data('c1'), barrier(1));
  s.run();
  t.same(s.log, ['start 1', 'block 0', 'block 1', 'block 2', 'snapshot 1 after 7ms (processed 3)', 'unblock']);
  t.same(s.processed, ['0:a1', '1:b1', '2:c1', '0:a2', '0:a3'], 'buffered input processed after the snapshot, in order');
  t.equal(s.handler.pendingCheckpointId, null);
});

t.test('at-least-once: never blocks, snapshots when the last barrier arrives', async (t) => {
  const s = setup(2, 'at-least-once');
  s.feed(0, barrier(1), data('a2'));
  s.run();
  t.same(s.processed, ['0:a2'], 'input after an early barrier flows on');
  t.notOk(s.gate.isBlocked(0));
  s.feed(1, data('b1'), barrier(1));
  s.run();
  t.same(s.log, ['start 1', 'snapshot 1 after 0ms (processed 2)']);
  t.notOk(s.log.some((l) => l.startsWith('block')));
});

t.test('a barrier of a newer checkpoint aborts the alignment in progress as subsumed', async (t) => {
  const s = setup(2, 'exactly-once');
  s.feed(0, barrier(1));
  s.run();
  s.feed(1, barrier(2));
  s.run();
  t.same(s.log, ['start 1', 'block 0', 'unblock', 'abort 1 subsumed', 'start 2', 'block 1']);
  s.feed(0, barrier(2));
  s.run();
  t.match(s.log.at(-2), /^snapshot 2/);
});

t.test('a stale barrier is ignored', async (t) => {
  const s = setup(2, 'exactly-once');
  s.feed(0, barrier(2));
  s.feed(1, barrier(2));
  s.run();
  s.feed(0, barrier(1));
  s.feed(1, barrier(2));
  s.run();
  t.equal(s.log.filter((l) => l.startsWith('snapshot')).length, 1);
  t.equal(s.log.filter((l) => l.startsWith('start')).length, 1);
});

t.test('a cancel barrier aborts the alignment and unblocks; its checkpoint is not taken later', async (t) => {
  const s = setup(2, 'exactly-once');
  s.feed(0, barrier(1), data('a2'));
  s.run();
  s.feed(1, { type: 'cancel-barrier', checkpointId: 1 });
  s.run();
  t.same(s.log, ['start 1', 'block 0', 'unblock', 'abort 1 canceled-upstream']);
  t.same(s.processed, ['0:a2']);
  s.feed(1, barrier(1));
  s.run();
  t.equal(s.log.length, 4, 'a late barrier of the canceled checkpoint is stale');
});

t.test('a cancel barrier before any barrier is forwarded once', async (t) => {
  const s = setup(2, 'exactly-once');
  s.feed(0, { type: 'cancel-barrier', checkpointId: 3 });
  s.feed(1, { type: 'cancel-barrier', checkpointId: 3 });
  s.run();
  t.same(s.log, ['abort 3 canceled-upstream']);
});

t.test('end of partition during alignment counts as an arrived barrier', async (t) => {
  const s = setup(3, 'exactly-once');
  s.feed(0, barrier(1));
  s.feed(1, barrier(1));
  s.run();
  s.feed(2, data('c1'), { type: 'end-of-partition' });
  s.run();
  t.match(s.log.at(-2), /^snapshot 1/);
  t.notOk(s.handler.allEnded);
  s.feed(0, { type: 'end-of-partition' });
  s.feed(1, barrier(2));
  s.run();
  t.match(s.log.at(-2), /^snapshot 2/, 'ended channels count for later checkpoints too');
});

t.test('at-least-once also takes a newer barrier over an older alignment', async (t) => {
  const s = setup(2, 'at-least-once');
  s.feed(0, barrier(1), barrier(2));
  s.run();
  t.same(s.log, ['start 1', 'abort 1 subsumed', 'start 2']);
});
