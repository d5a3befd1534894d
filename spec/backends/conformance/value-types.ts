// Conformance: every value a user keeps in state comes back exactly, from working state, snapshots and restores on any backend; others are refused by name.
import type { Test } from 'tap';
import { inspect, isDeepStrictEqual } from 'node:util';
import type { KeyedStateBackend } from '../../../src/backends/types.ts';
import { harness, snap, type ConformanceSubject } from './harness.ts';

/** A fresh set of values, by name (fresh: a backend may keep the very objects it was given). */
export function sampleValues(): Record<string, unknown> {
  const shared = { n: 1 };
  const cyclic: unknown[] = ['x'];
  cyclic.push(cyclic);
  return {
    'Map with number keys': new Map([
      [1, 2],
      [3, 4],
    ]),
    'Map with mixed keys': new Map<unknown, unknown>([
      [1, 'one'],
      ['1', 'string one'],
      [true, null],
      [null, undefined],
      [2n, -0],
      [{ k: [1] }, new Set([1])],
      [new Date(7), 'date key'],
    ]),
    'empty Map': new Map(),
    'Map of Maps': new Map([[new Map([[1, 2]]), new Map([['a', new Map()]])]]),
    Set: new Set([1, '1', null, undefined, { a: 1 }, new Map([[1, 1]])]),
    Date: new Date(Date.UTC(2026, 10, 25, 10, 0, 0, 123)),
    'Date before 1970': new Date(-86_400_123),
    'undefined in arrays and objects': { a: undefined, list: [undefined, 1, undefined], nested: { b: undefined } },
    null: null,
    'special numbers': [NaN, Infinity, -Infinity, -0, 0, 2 ** 53, -(2 ** 31) - 1, 4294967296, 0.1, Number.MIN_VALUE, Number.MAX_VALUE],
    'negative zero alone': -0,
    BigInt: [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 2n ** 100n, -(2n ** 100n)],
    'nested plain data': { a: { b: { c: [1, [2, [3, { d: 'e' }]]] } }, arr: [[], {}, [[]]], 'key with spaces': true },
    'deep nesting': JSON.parse('{"x":'.repeat(40) + '1' + '}'.repeat(40)),
    'typed arrays and Buffer': {
      f32: new Float32Array([1.5, -2]),
      f64: new Float64Array([Math.PI]),
      i16: new Int16Array([-3]),
      u8: new Uint8Array([0, 255]),
      big: new BigInt64Array([-5n]),
      buf: Buffer.from('héllo'),
    },
    'unicode strings': ['', 'ascii', 'héllo wörld', '日本語', '😀👍🏽', '\u0000\u0001\uffff', 'x'.repeat(70_000) + '€'],
    'lone surrogates': [
      'a\ud800b',
      '\udc00',
      'x'.repeat(40) + '\ud83d',
      '\ufffd',
      { ['key\udbff']: '\udfff' },
      new Map([['\ud800', '\udc00']]),
    ],
    'Map inside an object inside an array': [{ counts: new Map([['a', 1]]), seen: new Set(['a']) }],
    'shared references': [shared, shared],
    'cyclic array': cyclic,
    RegExp: /a+b/giu,
  };
}

const show = (v: unknown) => inspect(v, { depth: 6, breakLength: Infinity }).slice(0, 300);

function checkExact(t: Test, got: unknown, want: unknown, what: string): void {
  if (isDeepStrictEqual(got, want)) t.pass(what);
  else t.fail(what, { found: show(got), wanted: show(want) });
}

const names = Object.keys(sampleValues());

/** Writes every sample: value state `v` per key, list state `l` (values inside objects), map state `m` (values as map entries). */
async function writeSamples(b: KeyedStateBackend): Promise<void> {
  const samples = sampleValues();
  const v = b.getState<unknown>({ kind: 'value', name: 'v' });
  const l = b.getListState<unknown>({ kind: 'list', name: 'l' });
  const m = b.getMapState<string, unknown>({ kind: 'map', name: 'm' });
  for (const name of names) {
    b.setCurrentKey(name);
    v.update(samples[name]);
    l.add({ wrapped: sampleValues()[name] });
    l.add(sampleValues()[name]);
    m.put('entry', sampleValues()[name]);
  }
  await b.endBatch();
}

function checkSamples(t: Test, b: KeyedStateBackend, where: string): void {
  const want = sampleValues();
  const v = b.getState<unknown>({ kind: 'value', name: 'v' });
  const l = b.getListState<unknown>({ kind: 'list', name: 'l' });
  const m = b.getMapState<string, unknown>({ kind: 'map', name: 'm' });
  for (const name of names) {
    b.setCurrentKey(name);
    checkExact(t, v.value(), want[name], `${where}: value state, ${name}`);
    checkExact(t, [...l.get()], [{ wrapped: want[name] }, want[name]], `${where}: list state, ${name}`);
    checkExact(t, m.get('entry'), want[name], `${where}: map state value, ${name}`);
  }
}

export function valueTypes(t: Test, subject: ConformanceSubject, others: ConformanceSubject[]): void {
  t.test('state values round-trip exactly: Map, Set, Date, undefined, -0, BigInt, typed arrays, unicode', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    await writeSamples(b);
    // other keys' writes between: a backend with a small cache reads the samples back from disk
    const filler = b.getState<string>({ kind: 'value', name: 'filler' });
    for (let k = 0; k < 2000; k++) {
      b.setCurrentKey(`filler-${k}`);
      filler.update('x'.repeat(20));
      if (k % 512 === 511) await b.endBatch();
    }
    await b.endBatch();
    checkSamples(t, b, 'working state');
    const handle = await snap(b, 1);
    const restored = h.make();
    await restored.restore([handle!]);
    checkSamples(t, restored, `restored on ${subject.name}`);
    for (const other of others) {
      const r = h.makeOther(other);
      await r.restore([handle!]);
      checkSamples(t, r, `restored on ${other.name}`);
      // and back again, through the other backend's own snapshot
      const again = await snap(r, 2);
      const back = h.make();
      await back.restore([again!]);
      checkSamples(t, back, `${other.name}'s snapshot restored on ${subject.name}`);
    }
  });

  t.test('a value that cannot be written is refused with a code naming the state and the type', async (t) => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['a function', { onEvent: () => 1 }, /function at value\.onEvent/],
      [
        'a class instance',
        [
          new (class Session {
            close() {}
          })(),
        ],
        /instance of Session at value\[0\]/,
      ],
      ['a symbol in a Map', new Map([['s', Symbol('s')]]), /symbol at value<value 0>/],
    ];
    for (const [what, value, message] of cases) {
      const h = harness(t, subject);
      const b = h.make();
      const s = b.getState<unknown>({ kind: 'value', name: 'sessions' });
      b.setCurrentKey('k');
      s.update(value);
      const error = await (async () => {
        await b.endBatch();
        await snap(b, 1);
      })().then(
        () => null,
        (e: unknown) => e as { code?: string; message: string },
      );
      t.equal(error?.code, 'FLOE_STATE_VALUE_NOT_SERIALIZABLE', `${what}: refused`);
      t.match(error?.message ?? '', /state "sessions"/, `${what}: the state is named`);
      t.match(error?.message ?? '', message, `${what}: the type and where it is`);
    }
  });
}
