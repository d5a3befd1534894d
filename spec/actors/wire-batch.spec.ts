// Records with an event timestamp survive the two places batches are encoded: unaligned in-flight data and cluster data frames.
import t from 'tap';
import { decodeBatch, encodeBatch } from '../../src/actors/in-flight-data.ts';
import type { RecordBatch } from '../../src/actors/types.ts';
import { decodeFrame, encodeFrame, type DataFrame } from '../../src/cluster/cluster-frames.ts';

/** A batch whose records 1 and 3 have timestamps (NaN: none), as the output writer makes it. */
function stamped(): RecordBatch {
  const batch: RecordBatch = [{ plain: 1 }, { at: new Date(0) }, ['x', 2n], 'y', new Map([[1, 'one']])];
  batch.timestamps = [NaN, 1_700_000_000_000, NaN, -5, NaN];
  return batch;
}

t.test('in-flight data: timestamps come back beside their records, values keep their types', async (t) => {
  const batch = stamped();
  const back = decodeBatch(encodeBatch(batch));
  t.same([...back], [...batch]);
  t.same(back.timestamps, batch.timestamps, 'NaN (no timestamp) and negative timestamps included');
  t.ok(back[1] && (back[1] as { at: unknown }).at instanceof Date);
  t.ok(back[4] instanceof Map);
  const plain = [1, 'two', [3]];
  const plainBack = decodeBatch(encodeBatch(plain));
  t.same(plainBack, plain, 'a batch without timestamps is the array itself');
  t.equal(plainBack.timestamps, undefined);
});

t.test('cluster data frames: the same records and timestamps cross the wire', async (t) => {
  const batch = stamped();
  const frame: DataFrame = { k: 'msg', a: 0, ch: 'e:0:1', m: { type: 'data', batch } };
  const back = decodeFrame<DataFrame>(encodeFrame(frame), 'data');
  const m = (back as Extract<DataFrame, { k: 'msg' }>).m as { batch: RecordBatch };
  t.same([...m.batch], [...batch]);
  t.same(m.batch.timestamps, batch.timestamps);
  t.equal(frame.m.type === 'data' && frame.m.batch, batch, 'the frame given is not changed');
  t.same(batch.timestamps, [NaN, 1_700_000_000_000, NaN, -5, NaN]);
  const plain: DataFrame = { k: 'msg', a: 0, ch: 'e:0:1', m: { type: 'data', batch: [1, 2] } };
  const plainBack = decodeFrame<DataFrame>(encodeFrame(plain), 'data');
  t.same(plainBack, plain, 'a batch without timestamps as it is');
  t.equal(((plainBack as Extract<DataFrame, { k: 'msg' }>).m as { batch: RecordBatch }).batch.timestamps, undefined);
  const watermark: DataFrame = { k: 'msg', a: 0, ch: 'e:0:1', m: { type: 'watermark', timestamp: 5 } };
  t.same(decodeFrame(encodeFrame(watermark), 'data'), watermark, 'watermarks as they are');
});
