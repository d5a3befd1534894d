// The output writer's batches: full ones go out at batch-size records, partial ones on flush, each exactly as long as its records, timestamps beside them.
import t from 'tap';
import { Channel } from '../../src/actors/channel.ts';
import { EdgeWriter, OutputWriter } from '../../src/actors/output-writer.ts';
import type { ChannelMessage, RecordBatch } from '../../src/actors/types.ts';

function drain(channel: Channel): ChannelMessage[] {
  const out: ChannelMessage[] = [];
  for (let m = channel.poll(); m !== undefined; m = channel.poll()) out.push(m);
  return out;
}

const batches = (messages: ChannelMessage[]): RecordBatch[] => messages.flatMap((m) => (m.type === 'data' ? [m.batch] : []));

/** every index below length holds a record: no holes left from the room a batch was created with */
const packed = (batch: RecordBatch): boolean => [...batch.keys()].every((i) => i in batch);

t.test('one channel: full batches at batch-size records, the rest on flush, each as long as its records', async (t) => {
  const channel = new Channel(100, 0);
  const edge = new EdgeWriter([channel], { type: 'forward' }, 4, 128, 0);
  const out = new OutputWriter([edge]);
  for (let i = 0; i < 10; i++) out.collect(i);
  t.same(batches(drain(channel)), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]);
  t.equal(edge.pendingRecords(), 2);
  t.ok(out.hasPendingRecords());
  out.flush();
  const [last] = batches(drain(channel));
  t.same(last, [8, 9]);
  t.equal(last!.length, 2, 'the partial batch is cut to its records');
  t.ok(packed(last!));
  t.equal(edge.pendingRecords(), 0);
  out.flush();
  t.same(drain(channel), [], 'nothing to flush: no empty batch');
  t.equal(out.recordsOut, 10);
});

t.test('an event goes out after the records emitted before it', async (t) => {
  const channel = new Channel(100, 0);
  const out = new OutputWriter([new EdgeWriter([channel], { type: 'forward' }, 512, 128, 0)]);
  out.collect('a');
  out.collect('b');
  out.emitWatermark(7);
  out.collect('c');
  out.broadcastEvent({ type: 'end-of-partition' });
  t.same(drain(channel), [
    { type: 'data', batch: ['a', 'b'] },
    { type: 'watermark', timestamp: 7 },
    { type: 'data', batch: ['c'] },
    { type: 'end-of-partition' },
  ]);
});

t.test('timestamps: beside their records from the first one that has one, NaN before it', async (t) => {
  const channel = new Channel(100, 0);
  const out = new OutputWriter([new EdgeWriter([channel], { type: 'forward' }, 4, 128, 0)]);
  const emit = (record: string, ts: number) => {
    out.timestamp.value = ts;
    out.collect(record);
  };
  emit('a', NaN);
  emit('b', NaN);
  emit('c', 30);
  emit('d', NaN);
  emit('e', NaN);
  out.flush();
  const [first, second] = batches(drain(channel));
  t.same([...first!], ['a', 'b', 'c', 'd']);
  t.same(first!.timestamps, [NaN, NaN, 30, NaN]);
  t.same([...second!], ['e']);
  t.equal(second!.timestamps, undefined, 'a batch whose records have none carries none');
});

t.test('many channels: hash, rebalance and broadcast fill each channel its own batches, past the room they start with', async (t) => {
  const channels = Array.from({ length: 3 }, (_, i) => new Channel(1000, i));
  const n = 6300;
  // 4096 slots over 3 channels: 1366 each, so a batch of 2000 grows past its room
  const edge = new EdgeWriter(channels, { type: 'rebalance' }, 2000, 128, 0);
  for (let i = 0; i < n; i++) edge.emit(i);
  edge.flush();
  const got = channels.map((c) => batches(drain(c)));
  t.same(
    got.map((bs) => bs.map((b) => b.length)),
    [
      [2000, 100],
      [2000, 100],
      [2000, 100],
    ],
  );
  t.ok(got.flat().every(packed));
  t.same(
    got.flat(2).sort((a, b) => (a as number) - (b as number)),
    Array.from({ length: n }, (_, i) => i),
  );

  const hashed = Array.from({ length: 4 }, (_, i) => new Channel(1000, i));
  const byKey = new EdgeWriter(hashed, { type: 'hash', keySelector: (r: unknown) => (r as [string, number])[0] }, 8, 128, 0);
  for (let i = 0; i < 200; i++) byKey.emit([`k${i % 10}`, i]);
  byKey.flush();
  const perChannel = hashed.map((c) => batches(drain(c)).flat() as Array<[string, number]>);
  t.equal(perChannel.flat().length, 200);
  for (const records of perChannel) {
    t.ok(
      records.every((r, i) => i === 0 || r[1] > records[i - 1]![1]),
      'a channel gets its records in order',
    );
  }
  const channelOf = new Map<string, number>();
  perChannel.forEach((records, c) => records.forEach(([k]) => channelOf.set(k, c)));
  t.equal(channelOf.size, 10);
  t.ok(
    perChannel.every((records, c) => records.every(([k]) => channelOf.get(k) === c)),
    'a key always goes to one channel',
  );

  const all = Array.from({ length: 2 }, (_, i) => new Channel(10, i));
  const broadcast = new EdgeWriter(all, { type: 'broadcast' }, 2, 128, 0);
  for (const r of ['x', 'y', 'z']) broadcast.emit(r);
  broadcast.flush();
  t.same(
    all.map((c) => batches(drain(c))),
    [
      [['x', 'y'], ['z']],
      [['x', 'y'], ['z']],
    ],
  );
});

t.test('side outputs: only the edges reading the tag get its records', async (t) => {
  const main = new Channel(10, 0);
  const side = new Channel(10, 0);
  const out = new OutputWriter([
    new EdgeWriter([main], { type: 'forward' }, 8, 128, 0),
    new EdgeWriter([side], { type: 'forward' }, 8, 128, 0, 'late'),
  ]);
  out.collect(1);
  out.sideOutput('late', 2);
  out.sideOutput('other', 3);
  out.flush();
  t.same(batches(drain(main)), [[1]]);
  t.same(batches(drain(side)), [[2]]);
  t.equal(out.recordsOut, 2, 'a side output nobody reads is dropped, not counted');
});
