// The watermark valve, rule by rule: min over channels, only when it rises, idle channels, a channel back from idle behind, ended channels; and through a real input gate.
import t from 'tap';
import { Channel } from '../../src/actors/channel.ts';
import { CheckpointedInputGate, EVENT } from '../../src/actors/checkpointed-input-gate.ts';
import { StatusWatermarkValve } from '../../src/actors/status-watermark-valve.ts';
import type { BarrierListener } from '../../src/actors/barrier-handler.ts';

function valve(n: number) {
  const out: Array<number | string> = [];
  const v = new StatusWatermarkValve(n, { watermark: (ts) => out.push(ts), status: (s) => out.push(s) });
  return { v, out };
}

t.test('the output is the minimum over channels, sent only when it rises', async (t) => {
  const { v, out } = valve(3);
  v.inputWatermark(0, 10);
  v.inputWatermark(1, 20);
  t.same(out, [], 'channel 2 has sent nothing yet: nothing goes out');
  v.inputWatermark(2, 5);
  t.same(out, [5]);
  v.inputWatermark(2, 30);
  t.same(out, [5, 10], 'the minimum moves to channel 0');
  v.inputWatermark(0, 8);
  t.same(out, [5, 10], 'a channel going back is ignored');
  v.inputWatermark(0, 25);
  t.same(out, [5, 10, 20]);
  t.equal(v.currentWatermark, 20);
});

t.test('an idle channel holds nothing back; when every channel is idle the largest goes out, then the idle status', async (t) => {
  const { v, out } = valve(2);
  v.inputWatermark(0, 100);
  v.inputWatermark(1, 10);
  t.same(out, [10]);
  v.inputStatus(1, 'idle');
  t.same(out, [10, 100], 'channel 1 idle: channel 0 alone decides');
  v.inputWatermark(1, 50);
  t.same(out, [10, 100], 'a watermark of an idle channel is ignored');
  v.inputStatus(0, 'idle');
  t.same(out, [10, 100, 'idle'], 'all idle: the task turns idle');
  v.inputStatus(0, 'active');
  t.same(out, [10, 100, 'idle', 'active']);
});

t.test('a channel back from idle behind the output is not counted until it catches up', async (t) => {
  const { v, out } = valve(2);
  v.inputWatermark(0, 10);
  v.inputWatermark(1, 10);
  v.inputStatus(1, 'idle');
  v.inputWatermark(0, 200);
  t.same(out, [10, 200]);
  v.inputStatus(1, 'active');
  v.inputWatermark(1, 50);
  v.inputWatermark(0, 300);
  t.same(out, [10, 200, 300], 'channel 1 at 50 is behind 200: it does not pull event time back or hold it');
  v.inputWatermark(1, 250);
  v.inputWatermark(0, 400);
  t.same(out, [10, 200, 300, 400], 'channel 1 at 250 is still behind the output (300): not counted');
  v.inputWatermark(1, 450);
  v.inputWatermark(0, 600);
  t.same(out, [10, 200, 300, 400, 450], 'channel 1 caught up (450 ≥ 400) and counts again: the minimum is its 450');
});

t.test('an ended channel holds nothing back', async (t) => {
  const { v, out } = valve(2);
  v.inputWatermark(0, 40);
  v.inputWatermark(1, 10);
  v.channelEnded(1);
  t.same(out, [10, 40]);
});

t.test('through a checkpointed input gate: a channel blocked by an aligned barrier holds its watermarks with its data', async (t) => {
  const channels = [new Channel(4, 0), new Channel(4, 1)];
  const seen: Array<number | string> = [];
  const listener: BarrierListener = {
    alignmentStarted() {},
    alignmentCompleted: () => void seen.push('snapshot'),
    alignmentAborted() {},
    snapshotUnaligned() {},
    channelStateCompleted() {},
  };
  const gate = new CheckpointedInputGate(channels, 'exactly-once', listener, {
    watermarks: { watermark: (ts) => seen.push(ts), status: (s) => seen.push(s) },
  });
  const options = { kind: 'checkpoint', alignment: 'aligned' } as const;
  channels[0]!.push({ type: 'watermark', timestamp: 5 });
  channels[1]!.push({ type: 'watermark', timestamp: 7 });
  channels[0]!.push({ type: 'barrier', checkpointId: 1, timestamp: 0, options });
  channels[0]!.push({ type: 'watermark', timestamp: 50 });
  channels[1]!.push({ type: 'watermark', timestamp: 60 });
  channels[1]!.push({ type: 'barrier', checkpointId: 1, timestamp: 0, options });
  const read: unknown[] = [];
  for (let r = gate.pollNext(); r !== null; r = gate.pollNext()) read.push(r === EVENT ? 'event' : r);
  t.same(
    seen.filter((x) => typeof x === 'number'),
    [5, 50],
    'the watermark 50 of the blocked channel 0 waited for the alignment, then event time rose',
  );
  t.ok(seen.indexOf('snapshot') < seen.indexOf(50), 'the snapshot came before the held watermark');
});
