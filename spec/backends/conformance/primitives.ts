// Conformance: every state primitive with the heap backend's semantics, read-your-writes inside a batch and after it.
import type { Test } from 'tap';
import type { AggregatingStateDescriptor } from '../../../src/backends/types.ts';
import { contents, harness, snap, type ConformanceSubject } from './harness.ts';

const avg: AggregatingStateDescriptor<number, { n: number; s: number }, number> = {
  kind: 'aggregating',
  name: 'a',
  aggregate: {
    createAccumulator: () => ({ n: 0, s: 0 }),
    add: (v, acc) => ((acc.n++, (acc.s += v)), acc),
    getResult: (acc) => acc.s / acc.n,
  },
};

export function primitives(t: Test, subject: ConformanceSubject): void {
  t.test('every state primitive, per key, within a batch and after it is flushed', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    const value = b.getState<number>({ kind: 'value', name: 'v', defaultValue: 7 });
    const list = b.getListState<string>({ kind: 'list', name: 'l' });
    const map = b.getMapState<[string, number], string>({ kind: 'map', name: 'm' });
    const sum = b.getReducingState<number>({ kind: 'reducing', name: 'r', reduce: (a, c) => a + c });
    const mean = b.getAggregatingState(avg);
    b.setCurrentKey('ключ 🔑');
    t.equal(value.value(), 7, 'default value');
    value.update(1);
    list.add('x');
    list.addAll(['y', 'z']);
    map.put(['a', 1], 'tuple key');
    map.putAll([[['b', 2], 'two']]);
    sum.add(2);
    sum.add(3);
    mean.add(1);
    mean.add(3);
    t.same(list.get(), ['x', 'y', 'z'], 'read your writes before the batch ends');
    b.setCurrentKey(['tuple', 2]);
    t.equal(value.value(), 7, 'keys are isolated');
    t.same(list.get(), []);
    t.ok(map.isEmpty());
    t.equal(sum.get(), undefined);
    t.equal(mean.get(), undefined);
    value.update(99);
    await b.endBatch();
    b.setCurrentKey('ключ 🔑');
    t.equal(value.value(), 1, 'after the flush');
    t.same(list.get(), ['x', 'y', 'z']);
    const copy = list.get();
    copy.push('not stored');
    t.same(list.get(), ['x', 'y', 'z'], 'get() returns a copy');
    t.equal(map.get(['a', 1]), 'tuple key');
    t.ok(map.contains(['b', 2]));
    t.notOk(map.contains(['c', 3]));
    t.same(
      [...map.entries()],
      [
        [['a', 1], 'tuple key'],
        [['b', 2], 'two'],
      ],
    );
    t.same(
      [...map.keys()],
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    t.same([...map.values()], ['tuple key', 'two']);
    t.equal(sum.get(), 5);
    t.equal(mean.get(), 2);
    mean.add(8);
    t.equal(mean.get(), 4);
    list.update(['only']);
    t.same(list.get(), ['only']);
    list.update([]);
    t.same(list.get(), [], 'update with nothing clears');
    map.remove(['a', 1]);
    map.remove(['zzz', 0]);
    t.same([...map.keys()], [['b', 2]]);
    map.remove(['b', 2]);
    t.ok(map.isEmpty());
    value.clear();
    t.equal(value.value(), 7);
    sum.clear();
    mean.clear();
    t.equal(sum.get(), undefined);
    t.equal(mean.get(), undefined);
    value.update(undefined as unknown as number);
    t.equal(value.value(), 7, 'updating to undefined clears');
    await b.endBatch();
    t.equal(value.value(), 7);
    t.same(list.get(), []);
    b.setCurrentKey(['tuple', 2]);
    t.equal(value.value(), 99, 'tuple keys meet by canonical form');
    for (const k of [1, '1', true, null, -0, 2n]) {
      b.setCurrentKey(k);
      value.update(typeof k === 'bigint' ? 2000 : String(k).length);
    }
    await b.endBatch();
    b.setCurrentKey(1);
    t.equal(value.value(), 1, 'number 1');
    b.setCurrentKey('1');
    t.equal(value.value(), 1, 'string "1"');
    b.setCurrentKey(0);
    t.equal(value.value(), 1, '-0 and 0 are one key');
    b.setCurrentKey(2n);
    t.equal(value.value(), 2000);
    t.equal(b.getCurrentKey(), 2n);
    t.throws(() => b.getListState({ kind: 'list', name: 'v' }), TypeError, 'a name keeps its kind');
  });

  t.test('no empty list or map is stored (adding nothing stores nothing), and map iterators run over a copy', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    const list = b.getListState<number>({ kind: 'list', name: 'l' });
    const map = b.getMapState<string, number>({ kind: 'map', name: 'm' });
    b.setCurrentKey('nothing');
    list.addAll([]);
    map.putAll([]);
    t.same(list.get(), []);
    t.ok(map.isEmpty());
    b.setCurrentKey('some');
    list.addAll(new Set([1, 2]));
    map.putAll(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
    );
    list.addAll([]);
    map.putAll([]);
    const seen: string[] = [];
    for (const [k] of map.entries()) {
      seen.push(k);
      map.put(`${k}+`, 0); // not visited: the iterator holds the entries as they were
    }
    t.same(seen, ['a', 'b']);
    t.same([...map.keys()], ['a', 'b', 'a+', 'b+']);
    await b.endBatch();
    t.same(
      await contents(await snap(b, 1), h.storage),
      {
        'l/"ssome"': [1, 2],
        'm/"ssome"': [
          ['a', 1],
          ['a+', 0],
          ['b', 2],
          ['b+', 0],
        ],
      },
      'the key given nothing has no entry',
    );
  });

  t.test('a key outside the subtask range is refused', async (t) => {
    const h = harness(t, subject);
    const b = h.make({ parallelism: 2, subtask: 0 });
    t.throws(() => b.setCurrentKey('k', 127), { code: 'FLOE_KEY_GROUP_OUT_OF_RANGE' });
  });
}
