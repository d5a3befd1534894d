// Conformance: snapshots split and merge by key group (1→2, 1→3, 3→1, 2→1), and move between backends.
import type { Test } from 'tap';
import { assignToKeyGroup } from '../../../src/backends/key-groups.ts';
import type { KeyedStateBackend, StateHandle } from '../../../src/backends/types.ts';
import { contents, harness, snap, writeValues, type ConformanceSubject } from './harness.ts';

const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
const up = (k: string) => k.toUpperCase();

/** Which keys each subtask holds with the right value: every key must be found exactly once. */
function found(t: Test, subs: KeyedStateBackend[]): void {
  const hits = new Map<string, number>();
  for (const sub of subs) {
    const range = sub.keyGroupRange;
    for (const k of keys) {
      const kg = assignToKeyGroup(k, 128);
      if (kg < range.start || kg > range.end) continue;
      sub.setCurrentKey(k);
      if (sub.getState<string>({ kind: 'value', name: 'v' }).value() === up(k)) hits.set(k, (hits.get(k) ?? 0) + 1);
    }
  }
  t.equal(hits.size, keys.length, `all keys found across ${subs.length} subtask(s)`);
  t.ok(
    [...hits.values()].every((n) => n === 1),
    'each once',
  );
}

export function rescale(t: Test, subject: ConformanceSubject, others: ConformanceSubject[]): void {
  t.test('restore splits by key group (1→2, 1→3) and merges back (3→1, 2→1)', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    await writeValues(b, keys, up);
    const handle = (await snap(b, 1))!;
    for (const p of [2, 3]) {
      const subs = Array.from({ length: p }, (_, i) => h.make({ parallelism: p, subtask: i }));
      for (const s of subs) await s.restore([handle]);
      found(t, subs);
      const handles: StateHandle[] = [];
      for (const s of subs) {
        const hs = await snap(s, 2);
        if (hs) handles.push(hs);
      }
      const one = h.make();
      await one.restore(handles);
      found(t, [one]);
    }
  });

  for (const other of others) {
    t.test(`restore across backends: ${other.name} → ${subject.name} → ${other.name}`, async (t) => {
      const h = harness(t, subject);
      const source = h.makeOther(other);
      await writeValues(source, keys.slice(0, 500), up);
      const l = source.getListState<number>({ kind: 'list', name: 'l' });
      const m = source.getMapState<[number, string], string>({ kind: 'map', name: 'm' });
      source.setCurrentKey('k1');
      l.addAll([1, 2]);
      m.put([1, 'x'], 'y');
      await source.endBatch();
      const h1 = (await snap(source, 1))!;
      const mine = h.make();
      await mine.restore([h1]);
      const h2 = (await snap(mine, 2))!;
      const back = h.makeOther(other);
      await back.restore([h2]);
      const h3 = (await snap(back, 3))!;
      const expected = await contents(h1, h.storage);
      t.equal(Object.keys(expected).length, 502);
      t.same(await contents(h2, h.storage), expected, `${subject.name} holds what ${other.name} wrote`);
      t.same(await contents(h3, h.storage), expected, 'and gives it back unchanged');
      mine.setCurrentKey('k1');
      t.same(mine.getMapState<[number, string], string>({ kind: 'map', name: 'm' }).get([1, 'x']), 'y');
    });
  }
}
