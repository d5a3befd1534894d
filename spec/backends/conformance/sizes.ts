// Conformance: large values, unicode keys (lone surrogates too), many keys.
import type { Test } from 'tap';
import { contents, harness, snap, writeValues, type ConformanceSubject } from './harness.ts';

export function sizes(t: Test, subject: ConformanceSubject): void {
  t.test('large values (1.5 MiB) and unicode keys (lone surrogates too) survive a snapshot and restore', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    const big = 'ü'.repeat(768 * 1024);
    const bytes = new Uint8Array(1 << 20).map((_, i) => i % 251);
    // lone surrogates: strings UTF-8 cannot carry (LevelDB would store them all as U+FFFD); each must
    // stay its own key, also beside the others of its key group (300 of them over 128 groups)
    const lone = [
      'a\ud800',
      'a\udbff',
      'a\udc00',
      '\ud83d',
      'x'.repeat(40) + '\udfff',
      'k\ud800\ud800',
      ...Array.from({ length: 300 }, (_, i) => `lone-${String.fromCharCode(0xd800 + i)}`),
    ];
    const unicode = ['ключ', '🔑🗝️', 'مفتاح', '鍵', 'e\u0301', 'a\u0000b', '', ' ', 'Ω'.repeat(1000), ...lone, 'a\ufffd'];
    await writeValues(b, unicode, (k: string) => `${k}!`);
    b.setCurrentKey('big');
    b.getState<string>({ kind: 'value', name: 'big' }).update(big);
    b.getListState<Uint8Array>({ kind: 'list', name: 'blobs' }).add(bytes);
    await b.endBatch();
    const handle = await snap(b, 1);
    const r = h.make();
    await r.restore([handle!]);
    r.setCurrentKey('big');
    t.equal(r.getState<string>({ kind: 'value', name: 'big' }).value(), big);
    t.same(r.getListState<Uint8Array>({ kind: 'list', name: 'blobs' }).get()[0], bytes);
    for (const k of unicode) {
      r.setCurrentKey(k);
      t.equal(r.getState<string>({ kind: 'value', name: 'v' }).value(), `${k}!`, `key ${JSON.stringify(k)}`);
    }
    r.setCurrentKey('e\u00e9');
    t.equal(
      r.getState<string>({ kind: 'value', name: 'v' }).value(),
      undefined,
      'no normalisation: é and e + combining accent are different keys',
    );
  });

  t.test('many keys (120 thousand) snapshot and restore completely', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    const n = 120_000;
    await writeValues(
      b,
      Array.from({ length: n }, (_, i) => i),
      (k: number) => k * 2,
    );
    const handle = await snap(b, 1);
    const all = await contents(handle, h.storage);
    t.equal(Object.keys(all).length, n);
    const r = h.make();
    await r.restore([handle!]);
    let ok = 0;
    const v = r.getState<number>({ kind: 'value', name: 'v' });
    for (let k = 0; k < n; k += 7) {
      r.setCurrentKey(k);
      if (v.value() === k * 2) ok++;
    }
    t.equal(ok, Math.ceil(n / 7));
  });
}
