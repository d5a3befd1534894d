// Unaligned barrier scripts: overtaking, which buffers become channel state, aborts, and the aligned timeout.
import t from 'tap';
import { barrier, barrierScript, data, unalignedBarrier } from '../helpers/barrier-script.ts';

t.test(
  'unaligned: the first barrier overtakes queued data; data sent before each barrier but not yet snapshotted becomes channel state',
  async (t) => {
    const s = barrierScript(2, 'exactly-once');
    s.feed(0, data('a1'), unalignedBarrier(1), data('a2'));
    s.feed(1, data('b1'), data('b2'));
    s.priorityPass();
    t.same(s.log, ['start 1', 'unblock', 'unaligned snapshot 1 after 0ms (processed 0)'], 'snapshot at once, before the queued a1 is read');
    t.equal(s.forwarded[0]!.options.alignment, 'unaligned', 'forwarded as unaligned: downstream overtakes too');
    t.ok(s.handler.capturing);
    s.run();
    t.same(s.processed, ['0:a1', '1:b1', '0:a2', '1:b2'], 'overtaken data is still processed, once, in order');
    s.feed(1, data('b3'), unalignedBarrier(1), data('b4'));
    s.priorityPass();
    t.same(
      s.log.at(-1),
      'channel state 1: 0=[a1] 1=[b1,b2,b3]',
      'channel 0: a1 (overtaken); channel 1: b1, b2 (read before its barrier) and b3 (overtaken); not a2, b4 (after the barriers)',
    );
    t.notOk(s.handler.capturing);
    s.run();
    t.same(s.processed, ['0:a1', '1:b1', '0:a2', '1:b2', '1:b3', '1:b4']);
    t.notOk(
      s.log.some((l) => l.startsWith('block')),
      'unaligned never blocks a channel',
    );
  },
);

t.test('unaligned: a barrier read in order adds nothing more; end of partition on a channel still being read completes', async (t) => {
  const s = barrierScript(3, 'exactly-once');
  s.feed(0, unalignedBarrier(1));
  s.run();
  t.match(s.log, ['start 1', 'unblock', /^unaligned snapshot 1/]);
  s.feed(1, data('b1'));
  s.run();
  s.feed(1, unalignedBarrier(1));
  s.feed(2, data('c1'), { type: 'end-of-partition' });
  s.run();
  t.same(s.channelState.get(1), [[], ['b1'], ['c1']]);
});

t.test('unaligned: a barrier of a newer checkpoint aborts the pending one as subsumed; its channel state is dropped', async (t) => {
  const s = barrierScript(2, 'exactly-once');
  s.feed(0, unalignedBarrier(1));
  s.run();
  s.feed(1, data('b1'), unalignedBarrier(2), data('b2'));
  s.priorityPass();
  t.same(s.log.slice(2), [
    'unaligned snapshot 1 after 0ms (processed 0)',
    'unblock',
    'abort 1 subsumed',
    'start 2',
    'unblock',
    'unaligned snapshot 2 after 0ms (processed 0)',
  ]);
  s.feed(0, data('a1'), unalignedBarrier(1), unalignedBarrier(2));
  s.run();
  t.notOk(s.channelState.has(1), 'checkpoint 1 never completes');
  t.same(s.channelState.get(2), [['a1'], ['b1']], 'the late barrier 1 is stale; a1 was sent before barrier 2');
});

t.test('unaligned: a cancel barrier aborts; an event queued ahead keeps the barrier from overtaking it', async (t) => {
  const s = barrierScript(2, 'exactly-once');
  s.feed(0, unalignedBarrier(1));
  s.run();
  s.feed(1, data('b1'), { type: 'cancel-barrier', checkpointId: 1 }, unalignedBarrier(1));
  s.priorityPass();
  t.notOk(s.channelState.has(1), 'barrier 1 did not jump the cancel barrier queued ahead of it');
  s.run();
  t.equal(s.log.at(-1), 'abort 1 canceled-upstream');
  t.notOk(s.channelState.has(1));
  t.same(s.processed, ['1:b1']);
});

t.test(
  'aligned with a timeout: alignment that lasts too long turns unaligned; only data before the missing barriers is persisted',
  async (t) => {
    const s = barrierScript(2, 'exactly-once');
    const b = barrier(1, { alignedTimeoutMs: 50 });
    s.feed(0, b, data('a2'));
    s.feed(1, data('b1'), data('b2'));
    s.step(); // the announcement starts the clock; barrier 1 on channel 0 is read and blocks it
    t.same(s.log, ['start 1', 'timer 1 50ms', 'block 0']);
    s.step();
    t.same(s.processed, ['1:b1'], 'a2 waits behind the barrier on the blocked channel');
    s.feed(1, b, data('b3'));
    s.tick(30);
    s.step();
    t.same(s.processed, ['1:b1', '1:b2'], 'still aligned before the timeout');
    s.feed(1, data('b4'));
    s.tick(30);
    s.priorityPass();
    t.same(
      s.log.slice(3),
      ['unblock', 'unaligned snapshot 1 after 60ms (processed 2)', 'channel state 1: 0=[] 1=[]'],
      'barrier 1 on channel 1 was already next: nothing in flight',
    );
    t.equal(s.forwarded[0]!.options.alignment, 'unaligned');
    t.equal(s.forwarded[0]!.options.alignedTimeoutMs, undefined);
    s.run();
    t.same(s.processed, ['1:b1', '1:b2', '0:a2', '1:b3', '1:b4']);
  },
);

t.test('aligned with a timeout: a barrier stuck behind data is overtaken when the timeout fires', async (t) => {
  const s = barrierScript(2, 'exactly-once');
  const b = barrier(7, { alignedTimeoutMs: 20 });
  s.feed(0, b, data('a2'));
  s.feed(1, data('b1'), data('b2'), b, data('b3'));
  s.step(); // announcements of both; channel 0 delivers its barrier in order
  t.same(s.log, ['start 7', 'timer 7 20ms', 'block 0']);
  s.tick(25);
  s.priorityPass();
  t.same(s.log.slice(3), ['unblock', 'unaligned snapshot 7 after 25ms (processed 0)', 'channel state 7: 0=[] 1=[b1,b2]']);
  s.run();
  t.same(s.processed.sort(), ['0:a2', '1:b1', '1:b2', '1:b3']);
});

t.test('aligned with a timeout that is not reached stays aligned', async (t) => {
  const s = barrierScript(2, 'exactly-once');
  const b = barrier(1, { alignedTimeoutMs: 50 });
  s.feed(0, data('a1'), b);
  s.feed(1, b);
  s.priorityPass();
  s.tick(10);
  s.run();
  s.tick(100);
  s.run();
  t.same(
    s.log,
    ['start 1', 'timer 1 50ms', 'block 1', 'block 0', 'snapshot 1 after 10ms (processed 1)', 'unblock'],
    'the late timer changes nothing',
  );
  t.equal(s.channelState.size, 0);
});

t.test('at-least-once ignores overtaking: barriers are counted in order', async (t) => {
  const s = barrierScript(2, 'at-least-once');
  s.feed(0, data('a1'), unalignedBarrier(1));
  s.priorityPass();
  t.same(s.log, [], 'nothing before the barrier is read');
  s.feed(1, unalignedBarrier(1));
  s.run();
  t.same(s.log, ['start 1', 'snapshot 1 after 0ms (processed 1)']);
});
