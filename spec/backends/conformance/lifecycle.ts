// Conformance: the lifecycle (opening or open, then closing, closed): from dispose() on every use throws FLOE_STATE_BACKEND_CLOSED, accessors taken before included.
import type { Test } from 'tap';
import { StateBackendError } from '../../../src/errors.ts';
import { harness, snap, type ConformanceSubject } from './harness.ts';

export function lifecycle(t: Test, subject: ConformanceSubject): void {
  t.test('use after close: from dispose() on, every use throws FLOE_STATE_BACKEND_CLOSED with a hint', async (t) => {
    const h = harness(t, subject);
    const b = h.make({ parallelism: 2, subtask: 1 });
    t.match(b.status, /^(opening|open)$/, 'usable as soon as it is made');
    const value = b.getState<number>({ kind: 'value', name: 'v' });
    const list = b.getListState<number>({ kind: 'list', name: 'l' });
    const map = b.getMapState<string, number>({ kind: 'map', name: 'm' });
    const sum = b.getReducingState<number>({ kind: 'reducing', name: 'r', reduce: (x, y) => x + y });
    const count = b.getAggregatingState<number, number, number>({
      kind: 'aggregating',
      name: 'a',
      aggregate: { createAccumulator: () => 0, add: (_, acc) => acc + 1, getResult: (acc) => acc },
    });
    const key = 'k';
    b.setCurrentKey(key);
    value.update(1);
    list.add(1);
    map.put('x', 1);
    sum.add(1);
    count.add(1);
    await b.endBatch();
    const handle = await snap(b, 1);
    t.equal(b.status, 'open');

    const closing = b.dispose();
    const closed = {
      code: 'FLOE_STATE_BACKEND_CLOSED',
      name: 'StateBackendError',
      message: /operator 'op' \(subtask 1\)/,
      hint: /open\(\) to close\(\)/,
    };
    for (const phase of ['closing', 'closed'] as const) {
      if (phase === 'closed') await closing;
      t.equal(b.status, phase);
      const uses: Array<[string, () => unknown]> = [
        ['setCurrentKey', () => b.setCurrentKey(key)],
        ['setCurrentKey with its key group', () => b.setCurrentKey(key, b.keyGroupRange.start)],
        ['getState', () => b.getState({ kind: 'value', name: 'v' })],
        ['getListState of a new state', () => b.getListState({ kind: 'list', name: 'new' })],
        ['getMapState', () => b.getMapState({ kind: 'map', name: 'm' })],
        ['getReducingState', () => b.getReducingState({ kind: 'reducing', name: 'r', reduce: (x: number) => x })],
        [
          'getAggregatingState',
          () =>
            b.getAggregatingState({
              kind: 'aggregating',
              name: 'a',
              aggregate: { createAccumulator: () => 0, add: (x: number) => x, getResult: (x: number) => x },
            }),
        ],
        ['value.value', () => value.value()],
        ['value.update', () => value.update(2)],
        ['value.clear', () => value.clear()],
        ['list.get', () => list.get()],
        ['list.add', () => list.add(2)],
        ['list.addAll', () => list.addAll([2])],
        ['list.update', () => list.update([2])],
        ['list.update to nothing', () => list.update([])],
        ['list.clear', () => list.clear()],
        ['map.get', () => map.get('x')],
        ['map.put', () => map.put('y', 2)],
        ['map.putAll', () => map.putAll([['y', 2]])],
        ['map.remove', () => map.remove('x')],
        ['map.contains', () => map.contains('x')],
        ['map.entries', () => map.entries()],
        ['map.keys', () => map.keys()],
        ['map.values', () => map.values()],
        ['map.isEmpty', () => map.isEmpty()],
        ['map.clear', () => map.clear()],
        ['reducing.get', () => sum.get()],
        ['reducing.add', () => sum.add(2)],
        ['reducing.clear', () => sum.clear()],
        ['aggregating.get', () => count.get()],
        ['aggregating.add', () => count.add(2)],
        ['aggregating.clear', () => count.clear()],
        ['endBatch', () => b.endBatch()],
        ['snapshot', () => b.snapshot(2)],
      ];
      for (const [name, use] of uses) t.throws(use, closed, `${phase}: ${name}`);
      t.throws(() => value.value(), StateBackendError, `${phase}: a FloeError subclass`);
      await t.rejects(b.restore([handle!]), closed, `${phase}: restore`);
      t.doesNotThrow(() => b.notifyCheckpointComplete?.(1), `${phase}: a late completion notice is dropped`);
      t.equal(b.getCurrentKey(), key, `${phase}: the current key is only a value, still readable`);
    }
    t.equal(await b.dispose(), undefined, 'a second dispose() resolves too');
    t.equal(b.status, 'closed');
  });

  t.test('a key out of range is still refused as such while the backend is open', async (t) => {
    const h = harness(t, subject);
    const b = h.make({ parallelism: 2, subtask: 0 });
    t.throws(() => b.setCurrentKey('k', b.keyGroupRange.end + 1), { code: 'FLOE_KEY_GROUP_OUT_OF_RANGE' });
    t.throws(() => b.setCurrentKey('k', -1), { code: 'FLOE_KEY_GROUP_OUT_OF_RANGE' });
    b.setCurrentKey('k', b.keyGroupRange.end);
    b.getState<number>({ kind: 'value', name: 'v' }).update(1);
    t.equal(b.getState<number>({ kind: 'value', name: 'v' }).value(), 1, 'and the last key group of the range is in it');
  });
}
