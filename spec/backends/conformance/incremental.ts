// Conformance (backends with incremental checkpoints): chains of base + deltas restore the live state, deletes included, aborted checkpoints lose nothing.
import type { Test } from 'tap';
import type { KeyedStateBackend, StateHandle } from '../../../src/backends/types.ts';
import { contents, harness, snap, writeValues, type ConformanceSubject } from './harness.ts';
import { seeded as random } from '../../../src/bench/seeded-random.ts';

/** Applies one round of random changes (updates, clears, list adds, map puts and removes) to every backend. */
async function mutate(backends: KeyedStateBackend[], rnd: () => number, keys: number, share: number): Promise<void> {
  const ops: Array<[number, number, number]> = [];
  for (let k = 0; k < keys; k++) if (rnd() < share) ops.push([k, Math.floor(rnd() * 5), Math.floor(rnd() * 1000)]);
  for (const b of backends) {
    const v = b.getState<number>({ kind: 'value', name: 'v' });
    const l = b.getListState<number>({ kind: 'list', name: 'l' });
    const m = b.getMapState<string, number>({ kind: 'map', name: 'm' });
    let n = 0;
    for (const [k, op, x] of ops) {
      b.setCurrentKey(k);
      if (op === 0) v.update(x);
      else if (op === 1) v.clear();
      else if (op === 2)
        (l.add(x), l.add(x + 1)); // the second add may append in place
      else if (op === 3) m.put(`e${x % 3}`, x);
      else (m.remove(`e${x % 3}`), l.clear());
      if (++n % 512 === 0) await b.endBatch();
    }
    await b.endBatch();
  }
}

const kind = (h: StateHandle | null) => (h?.type === 'incremental' ? `base+${h.deltas.length}` : (h?.type ?? 'null'));

export function incremental(t: Test, subject: ConformanceSubject, reference: ConformanceSubject): void {
  t.test('incremental chains: base + deltas restore the live state, deletes honoured, periodic full materialisation', async (t) => {
    const h = harness(t, subject);
    const b = h.make({ incremental: true, materializationInterval: 4 });
    const mirror = h.makeOther(reference);
    const rnd = random(42);
    await writeValues(
      b,
      Array.from({ length: 3000 }, (_, k) => k),
      (k) => k,
    );
    await writeValues(
      mirror,
      Array.from({ length: 3000 }, (_, k) => k),
      (k) => k,
    );
    const kinds: string[] = [];
    let last: StateHandle | null = null;
    for (let id = 1; id <= 9; id++) {
      if (id > 1) await mutate([b, mirror], rnd, 3000, 0.05);
      const handle = await snap(b, id);
      const expected = await snap(mirror, 100 + id);
      kinds.push(kind(handle));
      t.same(await contents(handle, h.storage), await contents(expected, h.storage), `checkpoint ${id} holds the live state`);
      b.notifyCheckpointComplete?.(id);
      last = handle;
    }
    t.same(
      kinds,
      ['base+0', 'base+1', 'base+2', 'base+3', 'base+0', 'base+1', 'base+2', 'base+3', 'base+0'],
      'a full materialisation every 4 checkpoints',
    );
    const deltaScopes = h.storage.written.filter((w) => w.checkpointId >= 2 && w.checkpointId <= 4).map((w) => w.scope);
    t.same(deltaScopes, ['shared', 'shared', 'shared'], 'deltas are shared parts');
    // restoring from base + deltas equals the live state; and the first snapshot after it is full
    await mutate([b, mirror], rnd, 3000, 0.05);
    const chained = (await snap(b, 10)) as StateHandle & { type: 'incremental' };
    t.equal(chained.deltas.length, 1);
    const r = h.make({ incremental: true, materializationInterval: 4 });
    await r.restore([chained]);
    const again = await snap(r, 11);
    t.equal(kind(again), 'base+0', 'the first snapshot after a restore is a full materialisation');
    t.same(await contents(again, h.storage), await contents(await snap(mirror, 111), h.storage));
    t.ok(last);
  });

  t.test(
    'more changed keys than maxTrackedChanges: tracking stops, the next checkpoint is full and complete, deltas resume after it',
    async (t) => {
      const h = harness(t, subject);
      const b = h.make({ incremental: true, materializationInterval: 100, maxTrackedChanges: 500 });
      const mirror = h.makeOther(reference);
      const rnd = random(3);
      // the base: 4000 keys, so ~800 changes stay under half of it (the ratio rule) and only the cap decides
      await writeValues(
        b,
        Array.from({ length: 4000 }, (_, k) => k),
        (k) => k,
      );
      await writeValues(
        mirror,
        Array.from({ length: 4000 }, (_, k) => k),
        (k) => k,
      );
      const kinds = [kind(await snap(b, 1))];
      b.notifyCheckpointComplete?.(1);
      await mutate([b, mirror], rnd, 2000, 0.05); // ~100 changed keys: a delta
      kinds.push(kind(await snap(b, 2)));
      b.notifyCheckpointComplete?.(2);
      // ~700 changed keys (under half the base, over the cap), in small batches as a slow stream writes them
      const v = b.getState<number>({ kind: 'value', name: 'v' });
      const mv = mirror.getState<number>({ kind: 'value', name: 'v' });
      for (let k = 0; k < 700; k++) {
        for (const [backend, state] of [
          [b, v],
          [mirror, mv],
        ] as const) {
          backend.setCurrentKey(k * 2);
          state.update(-k);
          if (k % 2 === 1) await backend.endBatch();
        }
      }
      const third = await snap(b, 3);
      kinds.push(kind(third));
      t.same(
        await contents(third, h.storage),
        await contents(await snap(mirror, 103), h.storage),
        'the full checkpoint holds every change, tracked or not',
      );
      b.notifyCheckpointComplete?.(3);
      await mutate([b, mirror], rnd, 2000, 0.05);
      const fourth = await snap(b, 4);
      kinds.push(kind(fourth));
      t.same(kinds, ['base+0', 'base+1', 'base+0', 'base+1'], 'full, delta, full (cap passed), delta again');
      const r = h.make({ incremental: true });
      await r.restore([fourth!]);
      t.same(
        await contents(await snap(r, 5), h.storage),
        await contents(await snap(mirror, 104), h.storage),
        'the chain after the capped checkpoint restores the live state',
      );
    },
  );

  t.test('an aborted checkpoint loses nothing: its changes go with the next delta, its files may be gone', async (t) => {
    const h = harness(t, subject);
    const b = h.make({ incremental: true, materializationInterval: 100 });
    const mirror = h.makeOther(reference);
    const rnd = random(7);
    await mutate([b, mirror], rnd, 2000, 0.5);
    const base = await snap(b, 1);
    b.notifyCheckpointComplete?.(1);
    await mutate([b, mirror], rnd, 2000, 0.05);
    const aborted = await snap(b, 2);
    t.equal(kind(aborted), 'base+1');
    h.storage.discard(2); // never completed: storage threw its files away
    await mutate([b, mirror], rnd, 2000, 0.05);
    const next = (await snap(b, 3)) as StateHandle & { type: 'incremental' };
    t.equal(kind(next), 'base+1', 'built on the confirmed checkpoint 1, not on the aborted 2');
    t.same(next.base, (base as StateHandle & { type: 'incremental' }).base);
    const r = h.make();
    await r.restore([next]);
    t.same(
      await contents(await snap(r, 4), h.storage),
      await contents(await snap(mirror, 5), h.storage),
      'restored state equals the live state',
    );
    // a confirmation that arrives after the next snapshot was taken keeps that snapshot's changes
    await mutate([b, mirror], rnd, 2000, 0.05);
    await snap(b, 4);
    b.notifyCheckpointComplete?.(3);
    h.storage.discard(4); // 4 is aborted after all
    await mutate([b, mirror], rnd, 2000, 0.05);
    const late = (await snap(b, 5)) as StateHandle & { type: 'incremental' };
    t.equal(kind(late), 'base+2', 'built on checkpoint 3');
    t.same(
      await contents(late, h.storage),
      await contents(await snap(mirror, 6), h.storage),
      'holds the changes of the aborted 4 and of 5',
    );
    // a base that was never confirmed is not built on either
    const b2 = h.make({ incremental: true });
    await mutate([b2], rnd, 100, 0.5);
    t.equal(kind(await snap(b2, 1)), 'base+0');
    await mutate([b2], rnd, 100, 0.1);
    t.equal(kind(await snap(b2, 2)), 'base+0', 'no confirmation yet: full again');
  });

  t.test('with 1% of keys changed, a delta is a small fraction of a full materialisation', async (t) => {
    const h = harness(t, subject);
    const b = h.make({ incremental: true });
    const n = 50_000;
    await writeValues(
      b,
      Array.from({ length: n }, (_, k) => k),
      (k) => ({ id: k, name: `user-${k}`, score: k % 97 }),
    );
    await snap(b, 1);
    b.notifyCheckpointComplete?.(1);
    await writeValues(
      b,
      Array.from({ length: n / 100 }, (_, i) => i * 100),
      (k) => ({ id: k, name: `user-${k}`, score: -1 }),
    );
    const handle = (await snap(b, 2)) as StateHandle & { type: 'incremental' };
    const full = h.storage.bytesWritten(1);
    const delta = h.storage.bytesWritten(2);
    t.equal(handle.deltas.length, 1);
    t.ok(delta < full * 0.02, `delta ${delta} bytes vs full ${full} bytes`);
  });
}
