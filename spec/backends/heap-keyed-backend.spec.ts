// The heap keyed backend (memory preset): state primitives, copy-on-write snapshots, key-group restore, the size cap.
import t from 'tap';
import { keyGroupRangeForSubtask, assignToKeyGroup } from '../../src/backends/key-groups.ts';
import { MemoryStateBackend } from '../../src/backends/memory-backend.ts';
import { MemoryCheckpointStorage } from '../../src/storage/memory-checkpoint-storage.ts';
import { decodeSnapshot, encodeSnapshotStream, readSnapshotStream } from '../../src/backends/snapshot-codec.ts';
import type { KeyedStateBackend, StateHandle, TaskStateStorage } from '../../src/backends/types.ts';
import { HeapKeyedBackend } from '../../src/backends/heap-keyed-backend.ts';
import { seeded as random } from '../../src/bench/seeded-random.ts';

const make = (p = 1, i = 0, max = 128, cap?: number): KeyedStateBackend =>
  new MemoryStateBackend().createKeyedBackend({
    jobId: 'j',
    operatorUid: 'op',
    subtaskIndex: i,
    maxParallelism: max,
    keyGroupRange: keyGroupRangeForSubtask(max, p, i),
    storage: new MemoryCheckpointStorage({ maxSnapshotSize: cap }).forSubtask('op', i),
  });

t.test('every state primitive, per key', async (t) => {
  const b = make();
  const value = b.getState<number>({ kind: 'value', name: 'v', defaultValue: 7 });
  const list = b.getListState<string>({ kind: 'list', name: 'l' });
  const map = b.getMapState<[string, number], string>({ kind: 'map', name: 'm' });
  const sum = b.getReducingState<number>({ kind: 'reducing', name: 'r', reduce: (a, c) => a + c });
  const avg = b.getAggregatingState<number, { n: number; s: number }, number>({
    kind: 'aggregating',
    name: 'a',
    aggregate: {
      createAccumulator: () => ({ n: 0, s: 0 }),
      add: (v, acc) => ((acc.n++, (acc.s += v)), acc),
      getResult: (acc) => acc.s / acc.n,
    },
  });
  b.setCurrentKey('ключ 🔑');
  t.equal(value.value(), 7, 'default value');
  value.update(1);
  list.add('x');
  list.addAll(['y', 'z']);
  map.put(['a', 1], 'tuple key');
  sum.add(2);
  sum.add(3);
  avg.add(1);
  avg.add(3);
  b.setCurrentKey(['tuple', 2]);
  t.equal(value.value(), 7, 'keys are isolated');
  t.same(list.get(), []);
  value.update(99);
  b.setCurrentKey('ключ 🔑');
  t.equal(value.value(), 1);
  t.same(list.get(), ['x', 'y', 'z']);
  t.equal(map.get(['a', 1]), 'tuple key');
  t.ok(map.contains(['a', 1]));
  t.same([...map.entries()], [[['a', 1], 'tuple key']]);
  t.equal(sum.get(), 5);
  t.equal(avg.get(), 2);
  list.update(['only']);
  t.same(list.get(), ['only']);
  map.remove(['a', 1]);
  t.ok(map.isEmpty());
  value.clear();
  t.equal(value.value(), 7);
  b.setCurrentKey(['tuple', 2]);
  t.equal(value.value(), 99, 'tuple keys round-trip through canonical form');
  t.throws(() => b.getListState({ kind: 'list', name: 'v' }), TypeError, 'a name keeps its kind');
});

t.test('a snapshot holds the state as it was, while writing continues (copy-on-write)', async (t) => {
  const b = make();
  const value = b.getState<number>({ kind: 'value', name: 'v' });
  const list = b.getListState<number>({ kind: 'list', name: 'l' });
  const map = b.getMapState<string, number>({ kind: 'map', name: 'm' });
  for (let k = 0; k < 1000; k++) {
    b.setCurrentKey(k);
    value.update(k);
    list.add(k);
    map.put('a', k);
  }
  const first = b.snapshot(1);
  for (let k = 0; k < 1000; k++) {
    b.setCurrentKey(k);
    value.update(-k);
    list.add(-k);
    map.put('a', -k);
    map.put('b', 0);
  }
  const second = b.snapshot(2);
  b.setCurrentKey(5);
  list.add(12345);
  const h1 = (await first.run())!;
  const h2 = (await second.run())!;
  const restored1 = make();
  await restored1.restore([h1]);
  const restored2 = make();
  await restored2.restore([h2]);
  for (const k of [0, 5, 999]) {
    restored1.setCurrentKey(k);
    t.equal(restored1.getState({ kind: 'value', name: 'v' }).value(), k);
    t.same(restored1.getListState({ kind: 'list', name: 'l' }).get(), [k]);
    t.same([...restored1.getMapState<string, number>({ kind: 'map', name: 'm' }).entries()], [['a', k]]);
    restored2.setCurrentKey(k);
    t.equal(restored2.getState({ kind: 'value', name: 'v' }).value(), -k);
    t.same(restored2.getListState({ kind: 'list', name: 'l' }).get(), [k, -k], 'later add after snapshot 2 not included');
  }
});

t.test('restore splits by key group: every key lands once, in the subtask owning its group', async (t) => {
  const b = make();
  const v = b.getState<string>({ kind: 'value', name: 'v' });
  const keys = Array.from({ length: 5000 }, (_, i) => `k${i}`);
  for (const k of keys) {
    b.setCurrentKey(k);
    v.update(k.toUpperCase());
  }
  const handle = (await b.snapshot(1).run())!;
  for (const p of [2, 3]) {
    const found = new Map<string, number>();
    for (let i = 0; i < p; i++) {
      const sub = make(p, i);
      await sub.restore([handle]);
      const range = sub.keyGroupRange;
      for (const k of keys) {
        const kg = assignToKeyGroup(k, 128);
        if (kg < range.start || kg > range.end) continue;
        sub.setCurrentKey(k);
        if (sub.getState<string>({ kind: 'value', name: 'v' }).value() === k.toUpperCase()) found.set(k, (found.get(k) ?? 0) + 1);
      }
    }
    t.equal(found.size, keys.length, `parallelism ${p}: all keys found`);
    t.ok([...found.values()].every((n) => n === 1));
  }
  // and back: merge the snapshots of 3 subtasks into 1
  const handles: StateHandle[] = [];
  for (let i = 0; i < 3; i++) {
    const sub = make(3, i);
    await sub.restore([handle]);
    const h = await sub.snapshot(2).run();
    if (h) handles.push(h);
  }
  const one = make();
  await one.restore(handles);
  one.setCurrentKey('k4321');
  t.equal(one.getState<string>({ kind: 'value', name: 'v' }).value(), 'K4321');
  t.equal(decodeSnapshot((handles[0] as { bytes: Uint8Array }).bytes).format, 1);
});

t.test('empty state snapshots to null; a max-parallelism change is refused; over the cap declines', async (t) => {
  t.equal(await make().snapshot(1).run(), null);
  const b = make(1, 0, 128, 1000);
  b.setCurrentKey('big');
  b.getState<string>({ kind: 'value', name: 'v' }).update('x'.repeat(5000));
  await t.rejects(b.snapshot(1).run(), { code: 'FLOE_STATE_TOO_LARGE', message: /cap/, hint: /fs or level/ });
  const ok = make();
  ok.setCurrentKey('a');
  ok.getState<number>({ kind: 'value', name: 'v' }).update(1);
  const h = (await ok.snapshot(1).run())!;
  await t.rejects(make(1, 0, 64).restore([h]), { code: 'FLOE_MAX_PARALLELISM_MISMATCH' });
  await t.rejects(make().restore([{ type: 'bytes', bytes: new Uint8Array([1, 2, 3, 255]), size: 4 }]), {
    code: /FLOE_SNAPSHOT_(CORRUPT|UNSUPPORTED_FORMAT)/,
  });
});

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

t.test('snapshot stream encoder: every value decodes to itself, plain values on the fast path; a class instance is refused', async (t) => {
  const shared = { s: 1 };
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  class Point {
    constructor(readonly x: number) {}
  }
  const values: unknown[] = [
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2 ** 31),
    -(2 ** 31) - 1,
    -0,
    1.5,
    -2.25,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    '',
    'a',
    'x'.repeat(31),
    'x'.repeat(32),
    'é',
    'ñandú ✓ 𝄞',
    'y'.repeat(100),
    'z'.repeat(300),
    'é'.repeat(30_000),
    'w'.repeat(70_000),
    true,
    false,
    null,
    undefined,
    [],
    [1, 'a', [2, [3, null]]],
    Array.from({ length: 20 }, (_, i) => i),
    Array.from({ length: 70_000 }, (_, i) => i % 7),
    [1, , 3],
    {},
    { a: 1, b: 'two', c: [3], d: { e: null } },
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])),
    { u: undefined },
    ['w', 3],
    new Map<unknown, unknown>([
      ['m', 1],
      [2, { n: new Set([1]) }],
    ]),
    new Set(['s']),
    new Date(1_700_000_000_000),
    [shared, shared],
    { a: shared, b: shared },
    cyclic,
    Object.create(null),
  ];
  const entries = values.map((value, i) => ({ key: i % 3 === 0 ? `key-${i}` : i % 3 === 1 ? i : ['tuple', i], value }));
  const bytes = await collect(
    encodeSnapshotStream(
      { kind: 'full', maxParallelism: 128, states: { s: 'value' } },
      // one chunk per value, so a value that needs packr takes only its own chunk off the fast path
      entries.map((e) => ({ keyGroup: 7, state: 's', keys: [e.key], values: [e.value], mapValues: false })),
      64, // tiny pieces: frames span many yielded buffers
    ),
  );
  const decoded = [...readSnapshotStream(bytes).chunks].flatMap((c) => c.puts);
  t.equal(decoded.length, values.length);
  decoded.forEach(([key, value], i) => {
    const expected = [entries[i]!.key, values[i]];
    t.same([key, value], expected, `value ${i}`);
    if (typeof values[i] === 'number') t.ok(Object.is(value, values[i]), `number ${String(values[i])} exactly`);
  });
  const [, pair] = decoded.find(([, v]) => Array.isArray(v) && v.length === 2 && v[0] === v[1] && typeof v[0] === 'object')!;
  t.equal((pair as unknown[])[0], (pair as unknown[])[1], 'a shared reference stays shared');
  const [, cyc] = decoded.find(([, v]) => Array.isArray(v) && v[0] === v)!;
  t.ok(cyc, 'a cycle stays a cycle');
  t.ok(
    decoded.some(([, v]) => v instanceof Map && v.get(2).n instanceof Set),
    'a Map value is a Map',
  );
  t.ok(decoded.some(([, v]) => v instanceof Set) && decoded.some(([, v]) => v instanceof Date), 'Set and Date round-trip');
  t.ok(
    decoded.some(([, v]) => v && typeof v === 'object' && 'u' in v && (v as { u: unknown }).u === undefined),
    'undefined inside objects stays',
  );
  t.notOk(
    decoded.some(([, v]) => v instanceof Map && v.size === 4),
    'plain objects do not come back as Maps',
  );
  await t.rejects(
    collect(
      encodeSnapshotStream({ kind: 'full', maxParallelism: 128, states: { s: 'value' } }, [
        { keyGroup: 7, state: 's', keys: ['p'], values: [{ at: new Point(3) }], mapValues: false },
      ]),
    ),
    { code: 'FLOE_STATE_VALUE_NOT_SERIALIZABLE', message: /state "s" holds an instance of Point at value\.at/ },
  );
  // map state: Map values of [k, v] are written as [k, v][]
  const mapBytes = await collect(
    encodeSnapshotStream({ kind: 'full', maxParallelism: 128, states: { m: 'map' } }, [
      {
        keyGroup: 1,
        state: 'm',
        keys: ['k'],
        values: [
          new Map([
            ['a', ['a', 1]],
            ['["t",1]', [['t', 1], { x: 2 }]],
          ]),
        ],
        mapValues: true,
      },
    ]),
  );
  t.same(decodeSnapshot(mapBytes).groups[0]!.entries.m, [
    [
      'k',
      [
        ['a', 1],
        [['t', 1], { x: 2 }],
      ],
    ],
  ]);
});

t.test(
  'model: keys written, cleared and written again while several snapshots run; every snapshot, full or a delta, restores the state of its capture',
  async (t) => {
    const KEYS = 120;
    // the key of one cell per key group, set with an explicit group as the timer service does
    const PINNED = '\u0000pinned';
    const GROUPS = [3, 40, 77, assignToKeyGroup(PINNED, 128)];
    for (const incremental of [false, true]) {
      const rnd = random(incremental ? 11 : 5);
      const base = new MemoryCheckpointStorage({ maxSnapshotSize: 1 << 30 }).forSubtask('op', 0);
      // a write pulls the snapshot stream a chunk per turn of the run loop: the test's writes land mid-snapshot
      const storage: TaskStateStorage = {
        read: (h) => base.read(h),
        write: (id, scope, data) =>
          base.write(
            id,
            scope,
            (async function* () {
              for await (const bytes of data as AsyncIterable<Uint8Array>) {
                await new Promise((r) => setImmediate(r));
                yield bytes;
              }
            })(),
          ),
      };
      const options = {
        jobId: 'j',
        operatorUid: 'op',
        subtaskIndex: 0,
        maxParallelism: 128,
        keyGroupRange: { start: 0, end: 127 },
        storage,
      };
      const b = new HeapKeyedBackend(options, { incremental, materializationInterval: 4, maxDeltaRatio: 10 });
      // model: `${state} ${key} ${group}` -> value (lists and map entries as arrays)
      const model = new Map<string, unknown>();
      const at = (k: number) => (k % 2 ? `k${k}` : k);
      const where = (k: number): [unknown, number | undefined] => (k < KEYS ? [at(k), undefined] : [PINNED, GROUPS[k - KEYS]!]);
      const id = (state: string, k: number) => `${state} ${k}`;
      const op = () => {
        const k = Math.floor(rnd() * (KEYS + GROUPS.length));
        const [key, group] = where(k);
        b.setCurrentKey(key, group);
        const v = b.getState<number>({ kind: 'value', name: 'v' });
        const l = b.getListState<number>({ kind: 'list', name: 'l' });
        const m = b.getMapState<string, number>({ kind: 'map', name: 'm' });
        const x = Math.floor(rnd() * 1000);
        const r = rnd();
        if (r < 0.3) (v.update(x), model.set(id('v', k), x));
        else if (r < 0.45) (v.clear(), model.delete(id('v', k)));
        else if (r < 0.65) (l.add(x), model.set(id('l', k), [...((model.get(id('l', k)) as number[]) ?? []), x]));
        else if (r < 0.75) (l.clear(), model.delete(id('l', k)));
        else if (r < 0.9) {
          m.put(`e${x % 3}`, x);
          const e = new Map((model.get(id('m', k)) as Array<[string, number]>) ?? []);
          model.set(id('m', k), [...e.set(`e${x % 3}`, x)].sort());
        } else {
          // every state of the key cleared: its cell empties, and may be made again by a later write
          (v.clear(), l.clear(), m.remove('e0'), m.remove('e1'), m.remove('e2'));
          for (const s of ['v', 'l', 'm']) model.delete(id(s, k));
        }
      };
      const running: Array<{ checkpoint: number; handle: Promise<StateHandle | null>; expected: Map<string, unknown> }> = [];
      const done: Array<{ checkpoint: number; handle: StateHandle | null; expected: Map<string, unknown> }> = [];
      let checkpoint = 0;
      for (let round = 0; round < 60; round++) {
        for (let i = 0; i < 40; i++) op();
        if (rnd() < 0.4) {
          checkpoint++;
          const expected = new Map(model);
          const runner = b.snapshot(checkpoint);
          // a task runs the asynchronous part after the synchronous one; records in between make cells it must skip
          for (let i = 0; i < 10; i++) op();
          running.push({ checkpoint, handle: runner.run(), expected });
        }
        await new Promise((r) => setImmediate(r));
        if (running.length > 2 || (running.length > 0 && rnd() < 0.3)) {
          const s = running.shift()!;
          const handle = await s.handle;
          b.notifyCheckpointComplete(s.checkpoint);
          done.push({ ...s, handle });
        }
      }
      for (const s of running) done.push({ ...s, handle: await s.handle });
      t.ok(done.length > 15, `${done.length} snapshots taken`);
      if (incremental)
        t.ok(
          done.some((s) => s.handle?.type === 'incremental' && s.handle.deltas.length > 0),
          'deltas among them',
        );
      for (const s of done) {
        const r = new HeapKeyedBackend({ ...options, storage: base });
        if (s.handle) await r.restore([s.handle]);
        const seen = new Map<string, unknown>();
        for (let k = 0; k < KEYS + GROUPS.length; k++) {
          const [key, group] = where(k);
          r.setCurrentKey(key, group);
          const v = r.getState<number>({ kind: 'value', name: 'v' }).value();
          const l = r.getListState<number>({ kind: 'list', name: 'l' }).get();
          const m = [...r.getMapState<string, number>({ kind: 'map', name: 'm' }).entries()].sort();
          if (v !== undefined) seen.set(id('v', k), v);
          if (l.length) seen.set(id('l', k), l);
          if (m.length) seen.set(id('m', k), m);
        }
        t.same(
          Object.fromEntries(seen),
          Object.fromEntries(s.expected),
          `checkpoint ${s.checkpoint} (${incremental ? 'incremental' : 'full'})`,
        );
      }
    }
  },
);
