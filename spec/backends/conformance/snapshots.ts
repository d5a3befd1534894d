// Conformance: snapshots hold the state of their barrier while writing goes on; restore; empty state; refusals.
import type { Test } from 'tap';
import { harness, snap, writeValues, type ConformanceSubject } from './harness.ts';

export function snapshots(t: Test, subject: ConformanceSubject): void {
  t.test('a snapshot holds the state as it was at its synchronous part, while writing continues', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    const value = b.getState<number>({ kind: 'value', name: 'v' });
    const list = b.getListState<number>({ kind: 'list', name: 'l' });
    const map = b.getMapState<string, number>({ kind: 'map', name: 'm' });
    const keys = Array.from({ length: 2000 }, (_, k) => k);
    const round = async (sign: number) => {
      for (const k of keys) {
        b.setCurrentKey(k);
        value.update(sign * k);
        list.add(sign * k);
        map.put(sign > 0 ? 'a' : 'b', sign * k);
        if (k % 512 === 0) await b.endBatch();
      }
      await b.endBatch();
    };
    await round(1);
    const first = b.snapshot(1);
    await round(-1);
    // writes after the sync part, still unflushed, must not reach snapshot 2 either
    const second = b.snapshot(2);
    for (const k of keys) {
      b.setCurrentKey(k);
      value.update(12345);
      list.add(12345);
      map.remove('a');
    }
    await b.endBatch();
    const [h1, h2] = await Promise.all([first.run(), second.run()]);
    const r1 = h.make();
    const r2 = h.make();
    await r1.restore([h1!]);
    await r2.restore([h2!]);
    for (const k of [0, 5, 511, 512, 1999]) {
      r1.setCurrentKey(k);
      t.equal(r1.getState({ kind: 'value', name: 'v' }).value(), k);
      t.same(r1.getListState({ kind: 'list', name: 'l' }).get(), [k]);
      t.same([...r1.getMapState<string, number>({ kind: 'map', name: 'm' }).entries()], [['a', k]]);
      r2.setCurrentKey(k);
      t.equal(r2.getState({ kind: 'value', name: 'v' }).value(), -k);
      t.same(r2.getListState({ kind: 'list', name: 'l' }).get(), [k, -k]);
      t.same(
        [...r2.getMapState<string, number>({ kind: 'map', name: 'm' }).entries()],
        [
          ['a', k],
          ['b', -k],
        ],
      );
    }
    b.setCurrentKey(5);
    t.equal(value.value(), 12345, 'the live state went on');
  });

  t.test('writes not yet flushed by endBatch are in the snapshot taken after them', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    await writeValues(b, [1, 2, 3], (k) => k * 10);
    const v = b.getState<number>({ kind: 'value', name: 'v' });
    b.setCurrentKey(2);
    v.update(-20);
    b.setCurrentKey(3);
    v.clear();
    b.setCurrentKey(4);
    v.update(40);
    const handle = await snap(b, 1);
    const r = h.make();
    await r.restore([handle!]);
    const got = [1, 2, 3, 4].map((k) => (r.setCurrentKey(k), r.getState<number>({ kind: 'value', name: 'v' }).value()));
    t.same(got, [10, -20, undefined, 40]);
  });

  t.test('empty state snapshots to null; restoring nothing is empty; refusals', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    t.equal(await snap(b, 1), null, 'no state');
    b.setCurrentKey('x');
    b.getState<number>({ kind: 'value', name: 'v' }).update(1);
    b.getState<number>({ kind: 'value', name: 'v' }).clear();
    await b.endBatch();
    t.equal(await snap(b, 2), null, 'state registered but empty');
    const r = h.make();
    await r.restore([]);
    r.setCurrentKey('x');
    t.equal(r.getState<number>({ kind: 'value', name: 'v' }).value(), undefined);
    await writeValues(b, ['a'], () => 1);
    const handle = (await snap(b, 3))!;
    await t.rejects(h.make({ maxParallelism: 64 }).restore([handle]), { code: 'FLOE_MAX_PARALLELISM_MISMATCH' });
    const bytes = await h.storage.read(handle.type === 'incremental' ? handle.base : handle);
    const truncated = await h.storage.write(9, 'exclusive', bytes.subarray(0, bytes.length - 3));
    await t.rejects(h.make().restore([truncated]), { code: 'FLOE_SNAPSHOT_CORRUPT' }, 'a truncated snapshot is refused, not half restored');
    const garbage = await h.storage.write(9, 'exclusive', new Uint8Array([1, 2, 3, 255]));
    await t.rejects(h.make().restore([garbage]), { code: /FLOE_SNAPSHOT_(CORRUPT|UNSUPPORTED_FORMAT)/ });
  });
}
