// Key groups: a key's group never changes between floe versions (savepoints and rescaled restores depend on it), however it is computed.
import t from 'tap';
import { assignToKeyGroup, murmurHash } from '../../src/backends/key-groups.ts';

// pinned: murmur hash, key group at max parallelism 128, 32768 and 1000, as floe assigned them before
// the group was computed in integer operations (several of these hashes are above 2^31)
const PINNED: Array<[unknown, [number, number, number, number]]> = [
  ['', [0, 0, 0, 0]],
  ['a', [1867108634, 26, 20762, 634]],
  ['word', [2298424937, 105, 11881, 937]],
  ['zoë', [1367974409, 9, 8713, 409]],
  ['kalomi', [1883127517, 93, 16093, 517]],
  [42, [3961508298, 74, 20938, 298]],
  [-0, [3216205146, 90, 25946, 146]],
  [1.5, [3771296877, 109, 27757, 877]],
  [null, [1945087780, 36, 12068, 780]],
  [true, [3211202704, 16, 4240, 704]],
  [7n, [171088116, 116, 6388, 116]],
  [
    ['user', 3],
    [3148627036, 92, 15452, 36],
  ],
];

t.test('a key keeps its hash and its key group', async (t) => {
  for (const [key, [hash, g128, g32768, g1000]] of PINNED) {
    t.same(
      [murmurHash(key), assignToKeyGroup(key, 128), assignToKeyGroup(key, 32768), assignToKeyGroup(key, 1000)],
      [hash, g128, g32768, g1000],
      `key ${JSON.stringify(typeof key === 'bigint' ? `${key}n` : key)}`,
    );
  }
});

t.test('the key group is the unsigned hash modulo max parallelism, for every max parallelism', async (t) => {
  const keys: unknown[] = [];
  for (let i = 0; i < 2000; i++) keys.push(`w${i}`, `é${i}ñ`, 'x'.repeat(i % 40), i, -i * 1.25, ['t', i]);
  const above = keys.filter((k) => murmurHash(k) >= 2 ** 31).length;
  t.ok(above > keys.length / 4, 'many hashes are above 2^31 (the range a signed integer misses)');
  let wrong = 0;
  for (const max of [1, 2, 3, 7, 128, 1000, 4096, 32767, 32768]) {
    for (const k of keys) if (assignToKeyGroup(k, max) !== murmurHash(k) % max) wrong++;
  }
  t.equal(wrong, 0);
});

t.test('integer keys hash as their canonical string form (hashed without making it)', async (t) => {
  const ints = [0, -0, 1, -1, 9, 10, 11, 99, 100, 12345, -98765, 999_999, 1_000_000, 2 ** 31 - 1, -(2 ** 31), 2 ** 30];
  for (let i = 0; i < 5000; i++) ints.push(i * 7919 - 20_000_000, i);
  let wrong = 0;
  for (const k of ints) {
    const viaString = murmurHash(`\u0000n${Object.is(k, -0) ? 0 : k}`);
    if (murmurHash(k) !== viaString || assignToKeyGroup(k, 128) !== viaString % 128) wrong++;
  }
  t.equal(wrong, 0);
  t.equal(murmurHash(-0), murmurHash(0));
  t.not(murmurHash(2 ** 31), murmurHash(-(2 ** 31)), 'beyond 32 bits: the string form');
});
