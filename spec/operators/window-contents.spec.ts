// A window's per-key contents behave as a Map does (values, order, deletes, -0 and NaN), whatever the keys and however large it grows.
import t, { type Test } from 'tap';
import { WindowContents } from '../../src/operators/window-contents.ts';

/** A deterministic generator (mulberry32): the same operations on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const shared = { o: 1 };
const KEYS: unknown[] = [
  0,
  -0,
  1,
  -1,
  7,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  2 ** 40,
  1.5,
  NaN,
  'a',
  '7',
  '',
  true,
  null,
  undefined,
  shared,
  5n,
];

function same(t: Test, contents: WindowContents, model: Map<unknown, unknown>, what: string): void {
  t.same([...contents.entries()], [...model.entries()], `${what}: entries in order`);
  t.equal(contents.size, model.size, `${what}: size`);
}

t.test('as a Map under random sets, updates and deletes of every kind of key', async (t) => {
  // the first key decides how the window holds its keys (an integer: indexed; else a Map): both, with every kind of key after it
  for (const [expected, first] of [
    [0, 5],
    [3, 5],
    [1000, 5],
    [0, 'first'],
    [1000, { o: 2 }],
  ] as const) {
    const next = random(expected + 1);
    const contents = new WindowContents(expected);
    const model = new Map<unknown, unknown>([[first, 0]]);
    contents.insert(contents.find(first), first, 0);
    let wrong = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = next();
      const key = r < 0.3 ? KEYS[Math.floor(next() * KEYS.length)] : Math.floor(next() * 3000) - 1000;
      const op = next();
      if (op < 0.15) {
        if (contents.delete(key) !== model.delete(key)) wrong++;
      } else if (op < 0.6) {
        // the window operator's path: one probe, then an update in place or an insert
        const at = contents.find(key);
        if (at >= 0 !== model.has(key)) wrong++;
        if (at >= 0) contents.setAt(at, (contents.valueAt(at) as number) + 1);
        else contents.insert(at, key, 1);
        model.set(key, ((model.get(key) as number | undefined) ?? 0) + 1);
      } else if (op < 0.8) {
        contents.set(key, i);
        model.set(key, i);
      } else if (contents.get(key) !== model.get(key) || contents.has(key) !== model.has(key)) wrong++;
    }
    const what = `expected ${expected}, first key ${typeof first}`;
    t.equal(wrong, 0, `${what}: every lookup as the Map's`);
    same(t, contents, model, what);
    t.same([...contents.keys()], [...model.keys()]);
    t.same([...contents.values()], [...model.values()]);
    const seen: unknown[] = [];
    contents.forEach((v, k) => seen.push([k, v]));
    t.same(seen, [...model.entries()], 'forEach in insertion order');
  }
});

t.test('-0 is 0 and NaN is NaN, as in a Map', async (t) => {
  for (const first of [1, 's']) {
    const contents = new WindowContents();
    contents.set(first, 'first');
    contents.set(-0, 'zero');
    t.equal(contents.get(0), 'zero');
    t.ok(Object.is([...contents.keys()][1], 0), 'kept as 0');
    contents.set(NaN, 'nan');
    t.equal(contents.get(NaN), 'nan');
    t.ok(contents.delete(0));
    t.notOk(contents.has(-0));
    t.notOk(contents.delete(0));
    t.same(
      [...contents.entries()],
      [
        [first, 'first'],
        [NaN, 'nan'],
      ],
    );
    t.equal(contents.size, 2);
  }
});

t.test('a million integer keys, strided and consecutive, sized ahead or not: all found, in order', async (t) => {
  for (const [expected, stride] of [
    [0, 1],
    [1_000_000, 1],
    [10, 1 << 12],
  ]) {
    const contents = new WindowContents(expected);
    const n = stride === 1 ? 1_000_000 : 100_000;
    for (let i = 0; i < n; i++) contents.insert(contents.find(i * stride), i * stride, i);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (contents.get(i * stride) !== i) wrong++;
    if (contents.get(n * stride) !== undefined) wrong++;
    let order = 0;
    contents.forEach((v) => {
      if (v !== order++) wrong++;
    });
    t.equal(wrong, 0, `${n} keys, stride ${stride}, sized for ${expected}`);
    t.equal(contents.size, n);
  }
});
