// Records with an event timestamp survive the two places batches are encoded: unaligned in-flight data and cluster data frames.
import t from 'tap';
import { decodeBatch, encodeBatch } from '../../src/actors/in-flight-data.ts';
import { decodeFrame, encodeFrame, type DataFrame } from '../../src/cluster/cluster-frames.ts';
import { TimestampedRecord } from '../../src/operators/event-time.ts';

const batch = [
  { plain: 1 },
  new TimestampedRecord({ at: new Date(0) }, 1_700_000_000_000),
  ['x', 2n],
  new TimestampedRecord('y', -5),
  new Map([[1, 'one']]),
];

t.test('in-flight data: timestamps come back, values keep their types', async (t) => {
  const back = decodeBatch(encodeBatch(batch));
  t.same(back, batch);
  t.ok(back[1] instanceof TimestampedRecord && !(back[2] instanceof TimestampedRecord));
  t.ok(back[3] instanceof TimestampedRecord && (back[3] as TimestampedRecord).value === 'y');
  t.ok(back[4] instanceof Map);
  const plain = [1, 'two', [3]];
  t.same(decodeBatch(encodeBatch(plain)), plain, 'a batch without wrappers is the array itself');
});

t.test('cluster data frames: the same records cross the wire', async (t) => {
  const frame: DataFrame = { k: 'msg', a: 0, ch: 'e:0:1', m: { type: 'data', batch } };
  const back = decodeFrame<DataFrame>(encodeFrame(frame), 'data');
  t.same(back, frame);
  const m = (back as Extract<DataFrame, { k: 'msg' }>).m as { batch: unknown[] };
  t.ok(m.batch[1] instanceof TimestampedRecord && m.batch[3] instanceof TimestampedRecord);
  t.same(frame.m, { type: 'data', batch }, 'the frame given is not changed');
  const watermark: DataFrame = { k: 'msg', a: 0, ch: 'e:0:1', m: { type: 'watermark', timestamp: 5 } };
  t.same(decodeFrame(encodeFrame(watermark), 'data'), watermark, 'watermarks as they are');
});
