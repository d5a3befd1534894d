// Sources: sequence splits, collection and text-file resume exactly from operator state, text-file line ownership.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CollectionSource } from '../../src/connectors/collection-source.ts';
import { SequenceSource } from '../../src/connectors/sequence-source.ts';
import { TextFileSource } from '../../src/connectors/text-file-source.ts';
import type { OperatorContext, ReaderOutput, Source, SourceReader } from '../../src/operators/operator.ts';
import { collector, freshContexts, restoredContexts, snapshotAll } from '../helpers/operator-context.ts';

type Reader<T> = SourceReader<T>;

function openReaders<T>(source: Source<T>, contexts: OperatorContext[]): Reader<T>[] {
  return contexts.map((ctx) => {
    const reader = source.createReader();
    reader.open(ctx);
    return reader;
  });
}

/** Polls until 'end' (or until `limit` records), `max` records per poll. */
function drain<T>(reader: Reader<T>, max = 1000, limit = Infinity): T[] {
  const out = collector<T>();
  let guard = 0;
  while (out.records.length < limit) {
    const left = limit - out.records.length;
    if (reader.poll(out, Math.min(max, left)) === 'end') break;
    if (++guard > 1e7) throw new Error('reader never ends');
  }
  return out.records;
}

/** Checkpoint: every reader writes its position, then every store is snapshotted. */
function checkpoint<T>(readers: Reader<T>[], contexts: OperatorContext[], id: number) {
  for (const r of readers) r.snapshotState(id);
  return snapshotAll(contexts);
}

t.test('sequence: contiguous splits cover the range once', async (t) => {
  const source = new SequenceSource(1, 10);
  const readers = openReaders(source, freshContexts(3));
  const parts = readers.map((r) => drain(r, 2));
  t.same(parts, [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9, 10],
  ]);
  // more subtasks than numbers: some end at once
  const many = openReaders(new SequenceSource(5, 6), freshContexts(4)).map((r) => drain(r));
  t.same(many.flat(), [5, 6]);
  t.same(many.filter((p) => p.length === 0).length, 2);
  t.same(drain(openReaders(new SequenceSource(3, 2), freshContexts(1))[0]!), []);
  t.throws(() => new SequenceSource(0.5, 2), TypeError);
});

t.test('sequence: poll returns at most max and ends', async (t) => {
  const [reader] = openReaders(new SequenceSource(0, 4), freshContexts(1));
  const out = collector<number>();
  t.equal(reader!.poll(out, 3), 'more');
  t.same(out.records, [0, 1, 2]);
  t.equal(reader!.poll(out, 3), 'end');
  t.same(out.records, [0, 1, 2, 3, 4]);
  t.equal(reader!.poll(out, 3), 'end');
});

t.test('sequence: resumes exactly, also rescaled 2→3 and 3→1', async (t) => {
  const source = new SequenceSource(0, 999);
  const ctx2 = freshContexts(2);
  const r2 = openReaders(source, ctx2);
  const before = [...drain(r2[0]!, 7, 100), ...drain(r2[1]!, 7, 250)];
  const snap = checkpoint(r2, ctx2, 1);
  drain(r2[0]!, 7, 50); // read after the checkpoint: lost with the failure, replayed below

  const same = restoredContexts(snap, 2, 1);
  const again = openReaders(source, same).flatMap((r) => drain(r, 13));
  t.same(
    [...before, ...again].sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );

  const ctx3 = restoredContexts(snap, 3, 1);
  const r3 = openReaders(source, ctx3);
  const mid = r3.flatMap((r, i) => drain(r, 5, 20 * (i + 1)));
  const snap3 = checkpoint(r3, ctx3, 2);
  const ctx1 = restoredContexts(snap3, 1, 2);
  const rest = openReaders(source, ctx1).flatMap((r) => drain(r, 64));
  const all = [...before, ...mid, ...rest].sort((a, b) => a - b);
  t.same(
    all,
    Array.from({ length: 1000 }, (_, i) => i),
    'every number exactly once',
  );
});

t.test('collection: emits in order and resumes exactly', async (t) => {
  const items = ['a', 'b', 'c', 'd', 'e'];
  const source = new CollectionSource(items);
  items.push('late'); // the source keeps its own copy
  const ctx = freshContexts(1);
  const [reader] = openReaders(source, ctx);
  const before = drain(reader!, 2, 2);
  const snap = checkpoint([reader!], ctx, 1);
  drain(reader!, 2, 2);
  const [resumed] = openReaders(source, restoredContexts(snap, 1, 1));
  t.same([...before, ...drain(resumed!, 2)], ['a', 'b', 'c', 'd', 'e']);
  // finished readers stay finished after a restore
  const ctxEnd = freshContexts(1);
  const [done] = openReaders(source, ctxEnd);
  drain(done!);
  const [after] = openReaders(source, restoredContexts(checkpoint([done!], ctxEnd, 3), 1, 3));
  t.same(drain(after!), []);
  // a wrongly parallel collection source still emits each item once
  t.same(
    openReaders(source, freshContexts(2)).map((r) => drain(r)),
    [items.slice(0, 5), []],
  );
});

// ---- text file -------------------------------------------------------------------------------

function expectedLines(content: string): string[] {
  if (content === '') return [];
  const lines = content.split('\n');
  if (content.endsWith('\n')) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

const long = 'x'.repeat(150_000);
const fixtures: Record<string, string> = {
  empty: '',
  'one newline': '\n',
  'no trailing newline': 'alpha\nbeta\ngamma',
  'empty lines': '\n\na\n\n\nb\n\n',
  crlf: 'one\r\ntwo\r\n\r\nthree\r\n',
  unicode: Array.from({ length: 3000 }, (_, i) => `zeile ${i} äöü 日本語 🎉`.repeat(1 + (i % 7))).join('\n') + '\n',
  'long lines': `short\n${long}\n${'y'.repeat(70_000)}\nmid\n${long}z`,
  'one huge line': long + '日本'.repeat(40_000),
  words: Array.from({ length: 20_000 }, (_, i) => `w${i % 97} w${i % 13}`).join('\n'),
};

t.test('text file: every line exactly once for 1..7 splits', async (t) => {
  const dir = t.testdir(Object.fromEntries(Object.entries(fixtures).map(([k, v], i) => [`f${i}.txt`, v])));
  Object.entries(fixtures).forEach(([name, content], i) => {
    const source = new TextFileSource(join(dir, `f${i}.txt`));
    source.validate();
    const expected = expectedLines(content);
    for (let p = 1; p <= 7; p++) {
      const readers = openReaders(source, freshContexts(p));
      // splits are contiguous, so subtask order is file order
      const lines = readers.flatMap((r) => drain(r, 3));
      for (const r of readers) r.close?.();
      t.same(lines, expected, `${name}, ${p} splits`);
    }
  });
});

/**
 * For each parallelism p and each k: k lines read (spread over the subtasks in order), a checkpoint, more lines
 * read and lost with a failure, then a restore at each of `restoredAt(p)`: every line exactly once.
 */
function resumesAtEveryLine(t: Test, source: TextFileSource, expected: string[], restoredAt: (p: number) => number[]): void {
  for (const p of [1, 2, 3]) {
    for (let k = 0; k <= expected.length; k++) {
      const ctx = freshContexts(p);
      const readers = openReaders(source, ctx);
      let left = k;
      const before = readers.flatMap((r) => {
        const got = drain(r, 1, left);
        left -= got.length;
        return got;
      });
      const snap = checkpoint(readers, ctx, 1);
      readers.forEach((r) => drain(r, 2)); // lost with the failure
      readers.forEach((r) => r.close?.());
      for (const q of restoredAt(p)) {
        const resumed = openReaders(source, restoredContexts(snap, q, 1));
        const after = resumed.flatMap((r) => drain(r, 2));
        resumed.forEach((r) => r.close?.());
        t.same([...before, ...after].sort(), [...expected].sort(), `p=${p}, ${k} lines before, restored at ${q}`);
      }
    }
  }
}

t.test('text file: resumes exactly at every checkpoint position', async (t) => {
  const content = 'a\r\n\nbb\nccc\n' + 'é'.repeat(100) + '\n\nlast';
  const dir = t.testdir({ 'in.txt': content });
  resumesAtEveryLine(t, new TextFileSource(join(dir, 'in.txt')), expectedLines(content), (p) => [p, 1, 3]);
});

t.test('text file: malformed UTF-8 resumes at the right byte (a replacement character is not the bytes it replaces)', async (t) => {
  // a Latin-1 é, bytes that are never UTF-8, a sequence cut by a newline, and a 64 KiB line so a chunk ends mid-line
  const lines = [
    Buffer.from('caf\xe9', 'latin1'),
    Buffer.from([0xff, 0xfe, 0x41]),
    Buffer.from([0x78, 0xe6, 0x97]),
    Buffer.from('日本'),
    Buffer.alloc(0),
  ];
  lines.push(Buffer.from('\xe9'.repeat(70_000), 'latin1'), Buffer.from('end'));
  const content = Buffer.concat(lines.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from('\n'), l])));
  const dir = t.testdir({ 'in.txt': content });
  resumesAtEveryLine(
    t,
    new TextFileSource(join(dir, 'in.txt')),
    lines.map((l) => l.toString('utf8')),
    (p) => [p],
  );
});

t.test(
  'text file: a reader with several splits (restored 3 → 1) gives each its own output (per-split watermarks) and releases it once read',
  async (t) => {
    const content = Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const dir = t.testdir({ 'in.txt': content });
    const source = new TextFileSource(join(dir, 'in.txt'));
    const ctx3 = freshContexts(3);
    const snap = checkpoint(openReaders(source, ctx3), ctx3, 1);
    const [reader] = openReaders(source, restoredContexts(snap, 1, 1));
    const log: string[] = [];
    const bySplit = new Map<string, string[]>();
    const output: ReaderOutput<string> = {
      collect: () => log.push('collected without a split'),
      forSplit: (id) => {
        log.push(`open ${id}`);
        const lines: string[] = [];
        bySplit.set(id, lines);
        return { collect: (line) => lines.push(line) };
      },
      releaseSplit: (id) => log.push(`release ${id}`),
    };
    while (reader!.poll(output, 4) !== 'end');
    reader!.close?.();
    const ids = [...bySplit.keys()];
    t.equal(ids.length, 3, 'three splits');
    t.same(
      log,
      ids.flatMap((id) => [`open ${id}`, `release ${id}`]),
      'one after the other, each released once read',
    );
    t.same([...bySplit.values()].flat(), expectedLines(content), 'every line once, through its split');
  },
);

t.test('text file: resume mid-file after rescale 2→3 and 3→1', async (t) => {
  const content = Array.from({ length: 50_000 }, (_, i) => `line ${i} ${'ß'.repeat(i % 11)}`).join('\n') + '\n';
  const dir = t.testdir({ 'big.txt': content });
  const source = new TextFileSource(join(dir, 'big.txt'));
  const expected = expectedLines(content);

  const ctx2 = freshContexts(2);
  const r2 = openReaders(source, ctx2);
  const first = [...drain(r2[0]!, 100, 4_000), ...drain(r2[1]!, 100, 9_000)];
  const snap2 = checkpoint(r2, ctx2, 1);
  r2.forEach((r) => r.close?.());

  const ctx3 = restoredContexts(snap2, 3, 1);
  const r3 = openReaders(source, ctx3);
  const second = r3.flatMap((r, i) => drain(r, 100, 2_000 + i * 3_000));
  const snap3 = checkpoint(r3, ctx3, 2);
  r3.forEach((r) => drain(r)); // read after checkpoint 2, then the job fails
  r3.forEach((r) => r.close?.());

  const ctx1 = restoredContexts(snap3, 1, 2);
  const [r1] = openReaders(source, ctx1);
  const third = drain(r1!, 1000);
  r1!.close?.();
  const all = [...first, ...second, ...third];
  t.equal(all.length, expected.length, 'no line lost or repeated');
  t.same(new Set(all).size, expected.length);
  t.same([...all].sort(), [...expected].sort());
  // a subtask restored without splits ends at once
  const [none] = openReaders(source, restoredContexts([{ splits: { mode: 'split', items: [] } }], 1, 3));
  t.same(drain(none!), []);
});

t.test('text file: a missing or unreadable path is a job definition error', async (t) => {
  const dir = t.testdir({ sub: {} });
  const missing = new TextFileSource(join(dir, 'nope.txt'));
  t.throws(() => missing.validate(), { code: 'FLOE_SOURCE_FILE_NOT_FOUND', message: new RegExp(join(dir, 'nope.txt')) });
  t.throws(() => new TextFileSource(join(dir, 'sub')).validate(), { code: 'FLOE_SOURCE_FILE_NOT_FOUND', message: /not a regular file/ });
  const reader = missing.createReader();
  t.throws(() => reader.open(freshContexts(1)[0]!), { code: 'FLOE_SOURCE_FILE_NOT_FOUND' });
  t.doesNotThrow(() => reader.close?.());
  try {
    missing.validate();
  } catch (error) {
    t.match((error as { hint?: string }).hint, /readTextFile/);
  }
});
