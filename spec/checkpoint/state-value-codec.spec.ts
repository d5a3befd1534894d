// The state value format: fast and slow paths agree, in-flight batches and metadata files keep values exactly, version 2 snapshots still read.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual, inspect } from 'node:util';
import { Packr } from 'msgpackr';
import t, { type Test } from 'tap';
import { decodeBatch, encodeBatch, InFlightData } from '../../src/actors/in-flight-data.ts';
import { decodeValue, encodeValue } from '../../src/backends/level-value-codec.ts';
import { encodeKey, keyFromTag, keyTag } from '../../src/backends/level-key-codec.ts';
import { decodeSnapshot, encodeSnapshotStream, isPackedScalar, readSnapshotStream } from '../../src/backends/snapshot-codec.ts';
import { packStateValue, valuePackr } from '../../src/checkpoint/state-value-codec.ts';
import { ValueWriter } from '../../src/checkpoint/value-writer.ts';
import { decodeMetadata, encodeMetadata, SAVEPOINT_FORMAT_VERSION } from '../../src/savepoints/savepoint-metadata.ts';
import { loadCheckpoint, writeMetadata } from '../../src/storage/checkpoint-metadata.ts';
import { sampleValues } from '../backends/conformance/value-types.ts';

const show = (v: unknown) => inspect(v, { depth: 6, breakLength: Infinity }).slice(0, 300);
const exact = (t: Test, got: unknown, want: unknown, what: string) =>
  isDeepStrictEqual(got, want) ? t.pass(what) : t.fail(what, { found: show(got), wanted: show(want) });

t.test('every sample decodes exactly from the fast writer and from the slow path', async (t) => {
  for (const [name, value] of Object.entries(sampleValues())) {
    exact(t, valuePackr.unpack(packStateValue(value, 'x')), value, `${name} alone`);
    // a second reference to the same array sends the whole value down the slow path (reference tracking)
    const twice = [value, value];
    const back = valuePackr.unpack(packStateValue(twice, 'x')) as unknown[];
    exact(t, back, twice, `${name} shared twice (slow path)`);
    exact(t, decodeValue(encodeValue(value, 'x')), value, `${name} through the level value codec`);
  }
});

t.test('in-flight batches keep records exactly (a Map in a record is still a Map after restore)', async (t) => {
  const records = Object.values(sampleValues());
  exact(t, decodeBatch(encodeBatch(records)), records, 'one batch of every sample');
  const data = new InFlightData(2);
  const batch: Array<{ user: string; events: Map<unknown, unknown> }> = [
    { user: 'u1', events: new Map([[1, new Date(5)]]) },
    { user: 'u2', events: new Map([[2n, new Set([-0])]]) },
  ];
  data.add(1, batch);
  batch[0]!.events.set(9, new Date(9)); // changed by user code after capture: not in the captured bytes
  exact(
    t,
    data.batches(1),
    [
      [
        { user: 'u1', events: new Map([[1, new Date(5)]]) },
        { user: 'u2', events: new Map([[2n, new Set([-0])]]) },
      ],
    ],
    'captured as it was',
  );
  t.throws(() => encodeBatch([{ callback: () => 1 }]), {
    code: 'FLOE_STATE_VALUE_NOT_SERIALIZABLE',
    message: /in-flight record batch holds a function at value\[0\]\.callback/,
  });
});

t.test('snapshot streams: version 3 written, version 2 bytes still decode as they always did', async (t) => {
  const chunks = [
    {
      keyGroup: 3,
      state: 'v',
      puts: [
        ['k', new Map([[1, 2]])],
        ['j', { plain: -0 }],
      ] as Array<[unknown, unknown]>,
    },
  ];
  const parts: Uint8Array[] = [];
  for await (const p of encodeSnapshotStream({ kind: 'full', maxParallelism: 128, states: { v: 'value' } }, chunks)) parts.push(p);
  const bytes = Buffer.concat(parts);
  t.equal(bytes[4], 3, 'version byte');
  exact(t, [...readSnapshotStream(bytes).chunks][0]!.puts, chunks[0]!.puts, 'version 3 exact');

  // version 2 as the previous floe wrote it: msgpackr with useRecords false, a Map packed as a MessagePack map
  const old = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });
  const frame = (v: unknown) => {
    const body = old.pack(v);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
  };
  const v2 = Buffer.concat([
    Buffer.from([0x46, 0x4c, 0x4b, 0x53, 2]),
    frame({ floe: 'keyed-state', kind: 'full', maxParallelism: 128, states: { v: 'value' } }),
    frame({
      keyGroup: 3,
      state: 'v',
      puts: [
        ['k', new Map([[1, 2]])],
        ['s', new Set([new Date(1)])],
        ['n', [1n, undefined]],
      ],
    }),
    frame({ end: true, chunks: 1 }),
  ]);
  const snap = decodeSnapshot(v2);
  exact(
    t,
    snap.groups[0]!.entries.v,
    [
      ['k', { 1: 2 }],
      ['s', new Set([new Date(1)])],
      ['n', [1n, undefined]],
    ],
    'version 2: a Map is the plain object it always restored as, the rest exact',
  );

  const v9 = Buffer.from(v2);
  v9[4] = 9;
  t.throws(() => decodeSnapshot(v9), { code: 'FLOE_SNAPSHOT_UNSUPPORTED_FORMAT' });
});

t.test(
  'stored chunks (as the level backend hands them over): scalars copied as stored, on the fast and the slow path, equal to decoded ones',
  async (t) => {
    const samples: Array<[string, unknown]> = [
      ...Object.entries(sampleValues()),
      ['ascii', 'user-1'],
      ['unicode', 'zoë 🌊'],
      ['long string', 'x'.repeat(70_000)],
      ['empty string', ''],
      ['small int', 7],
      ['negative', -40_000],
      ['uint32', 4_000_000_000],
      ['float', 0.1],
      ['big', 2 ** 60],
      ['true', true],
      ['false', false],
      ['bigint', 12n],
      ['buffer', Buffer.from([1, 2, 3])],
    ];
    const scalars = samples.filter(([, v]) => isPackedScalar(packStateValue(v, 'x')[0]!));
    t.ok(scalars.length >= 12, `${scalars.length} samples are scalars: ${scalars.map(([n]) => n).join(', ')}`);
    t.ok(
      samples.some(([, v]) => !isPackedScalar(packStateValue(v, 'x')[0]!)),
      'and some are not',
    );
    // only the values the fast writer takes (no shared or cyclic references, no deep nesting): the whole chunk stays on the fast path
    const fastOnly = samples.filter(([, v]) => new ValueWriter(64).value(v));
    t.ok(fastOnly.length < samples.length, `the slow path is needed for ${samples.length - fastOnly.length} samples`);
    for (const [path, key, values] of [
      ['fast', 'k', fastOnly],
      ['slow', ['t', 1], samples],
    ] as const) {
      const stored = {
        keyGroup: 1,
        state: 'v',
        keyOffset: 6,
        decodeKey: keyFromTag,
        decodeValue,
        keys: values.map(() => encodeKey(1, 0, keyTag(key))),
        values: values.map(([, v]) => encodeValue(v, 'x')),
        deletes: [encodeKey(1, 0, keyTag(key))],
      };
      const parts: Uint8Array[] = [];
      for await (const p of encodeSnapshotStream({ kind: 'delta', maxParallelism: 128, states: { v: 'value' } }, [stored])) parts.push(p);
      const [chunk] = [...readSnapshotStream(Buffer.concat(parts)).chunks];
      exact(
        t,
        chunk!.puts.map((e) => e[1]),
        values.map(([, v]) => v),
        `${path} path: every value exact`,
      );
      exact(t, chunk!.puts[0]![0], key, `${path} path: keys as given`);
      exact(t, chunk!.deletes, [key], `${path} path: deletes as given`);
    }
  },
);

t.test('the inline [key, value] pair writes the bytes of the general path, and full chunks of entries encode as their pairs', async (t) => {
  const keys: unknown[] = ['', 'a', 'user-1', 'x'.repeat(31), 'x'.repeat(32), 'zoë', 'abcé', 7, -0, null, ['t', 1]];
  const values: unknown[] = [
    0,
    1,
    127,
    128,
    255,
    256,
    65_535,
    65_536,
    2 ** 32 - 1,
    2 ** 32,
    -0,
    -1,
    1.5,
    NaN,
    Infinity,
    'v',
    new Map([[1, 2]]),
  ];
  let same = 0;
  for (const k of keys) {
    for (const v of values) {
      const fast = new ValueWriter(8);
      fast.pos = 3; // not at the start, and a buffer that must grow
      t.ok(fast.pair(k, v));
      const general = new ValueWriter(64);
      general.pos = 3;
      general.entry();
      general.byte(0x92);
      t.ok(general.value(k) && general.value(v));
      if (Buffer.compare(fast.buf.subarray(3, fast.pos), general.buf.subarray(3, general.pos)) === 0) same++;
      else t.fail(`pair(${show(k)}, ${show(v)}) differs from the general path`);
      exact(t, valuePackr.unpack(fast.buf.subarray(3, fast.pos)), [k, v], `pair(${show(k)}, ${show(v)}) decodes to itself`);
    }
  }
  t.equal(same, keys.length * values.length, 'every pair byte for byte');

  // a heap backend hands its entries over as { key, value } objects, more than one chunk per key group
  const entries = Array.from({ length: 2500 }, (_, i) => ({ key: i % 7 === 0 ? `ü-${i}` : `k-${i}`, value: i % 5 === 0 ? -i : i * 1000 }));
  const encode = async (chunks: Array<Record<string, unknown>>) => {
    const parts: Uint8Array[] = [];
    for await (const p of encodeSnapshotStream({ kind: 'full', maxParallelism: 128, states: { v: 'value' } }, chunks as never))
      parts.push(p);
    return Buffer.concat(parts);
  };
  const asEntries = await encode([
    { keyGroup: 4, state: 'v', keys: entries.map((e) => e.key), values: entries.map((e) => e.value), mapValues: false },
  ]);
  const asPuts = await encode([{ keyGroup: 4, state: 'v', puts: entries.map((e) => [e.key, e.value]) }]);
  t.equal(Buffer.compare(asEntries, asPuts), 0, 'entries encode to the bytes of their pairs');
  exact(
    t,
    [...readSnapshotStream(asEntries).chunks][0]!.puts,
    entries.map((e) => [e.key, e.value]),
    'and decode to them',
  );
});

t.test('stored chunks (keys and values as the level backend stores them) encode to the bytes of their decoded pairs', async (t) => {
  const shared = { s: 1 };
  const keys: unknown[] = ['user-1', '', 'x'.repeat(40), 'zoë', 'ünïcode-long-key-past-thirty-two-chars', 7, -3.5, ['t', 1], null, true];
  const values: unknown[] = [1, 200, 70_000, 2 ** 33, -0, 'v', 'é', new Map([[1, 2]]), [1, [2]], { a: new Set([1]) }];
  const encode = async (chunk: Record<string, unknown>) => {
    const parts: Uint8Array[] = [];
    for await (const p of encodeSnapshotStream({ kind: 'full', maxParallelism: 128, states: { v: 'value' } }, [chunk] as never))
      parts.push(p);
    return Buffer.concat(parts);
  };
  for (const vs of [values, [...values, [shared, shared]]]) {
    const pairs = keys.map((k, i) => [k, vs[i % vs.length]] as [unknown, unknown]);
    const stored = {
      keyGroup: 9,
      state: 'v',
      keyOffset: 6,
      decodeKey: keyFromTag,
      decodeValue,
      keys: pairs.map(([k]) => encodeKey(9, 0, keyTag(k))),
      values: pairs.map(([, v]) => encodeValue(v, 'v')),
    };
    if (vs.length > values.length)
      (pairs.push([keys[0], vs[vs.length - 1]]),
        stored.keys.push(stored.keys[0]!),
        stored.values.push(encodeValue(vs[vs.length - 1], 'v')));
    const bytes = await encode(stored);
    const path = vs.length > values.length ? 'slow path (a shared reference)' : 'fast path';
    t.equal(Buffer.compare(bytes, await encode({ keyGroup: 9, state: 'v', puts: pairs })), 0, `${path}: the bytes of the decoded pairs`);
    exact(t, [...readSnapshotStream(bytes).chunks][0]!.puts, pairs, `${path}: decodes to the pairs`);
  }
});

t.test('operator state in checkpoint and savepoint _metadata keeps Maps, Sets, -0 and BigInt', async (t) => {
  const dir = t.testdir();
  const items = [
    new Map<unknown, unknown>([
      [1, 'a'],
      ['1', new Set([2n])],
    ]),
    { offsets: new Map([['p0', -0]]) },
    new Date(3),
  ];
  const operatorState = { s: { mode: 'split' as const, items } };
  const checkpoint = {
    id: 7,
    kind: 'checkpoint',
    timestamp: 1,
    completedAt: 2,
    durationMs: 1,
    stateSize: 0,
    maxParallelism: 128,
    operators: { src: { parallelism: 1, subtasks: [{ operator: operatorState, keyed: null }] } },
  } as never;
  await writeMetadata(dir, checkpoint);
  const loaded = await loadCheckpoint(dir);
  exact(t, (loaded.checkpoint as any).operators.src.subtasks[0].operator.s.items, items, 'checkpoint _metadata');

  // a version 1 checkpoint _metadata (msgpackr records, as the previous floe wrote it) still loads
  const payload = { checkpoint, files: [], writtenAt: 5 };
  const body = new Packr({ structuredClone: true, moreTypes: true }).pack(payload);
  const header = Buffer.alloc(16);
  header.write('FLOECKPT', 0, 'latin1');
  header.writeUInt32BE(1, 8);
  header.writeUInt32BE(body.length, 12);
  const v1 = join(dir, 'v1');
  mkdirSync(v1);
  writeFileSync(join(v1, '_metadata'), Buffer.concat([header, body, createHash('sha256').update(body).digest()]));
  const old = await loadCheckpoint(v1);
  exact(
    t,
    (old.checkpoint as any).operators.src.subtasks[0].operator.s.items,
    [items[0], { offsets: new Map([['p0', 0]]) }, items[2]],
    'version 1 checkpoint _metadata (it kept Maps, not -0)',
  );

  const metadata = {
    version: SAVEPOINT_FORMAT_VERSION,
    jobId: 'j',
    jobName: 'n',
    checkpointId: 7,
    timestamp: 1,
    maxParallelism: 128,
    operators: { src: { parallelism: 1, maxParallelism: 128, subtasks: [{ operator: operatorState, keyed: null }] } },
  };
  const back = decodeMetadata(encodeMetadata(metadata), 'test');
  exact(t, back.operators.src!.subtasks[0]!.operator.s!.items, items, 'savepoint _metadata');
});
