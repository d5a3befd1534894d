// Value codec: what the state value format (Maps tagged, unserialisable values refused) costs against the msgpackr options it replaced, per value shape.
//
// `npm run bench -- value-codec`: encodes and decodes each shape many times with both codecs, one
// after the other in the same process (alternating rounds, best of FLOE_BENCH_RUNS, default 5),
// as the level backend does on every write to LevelDB and every read back.
// `FLOE_BENCH_BASELINE=<another checkout>` also encodes and decodes a snapshot stream of 500
// thousand entries (number values, then small objects) with that checkout's snapshot codec and
// this one's, alternating: the heap backends' checkpoint and savepoint path, before/after in one run.
import { Packr } from 'msgpackr';
import { join } from 'node:path';
import * as current from '../src/backends/snapshot-codec.ts';
import { packStateValue, valuePackr } from '../src/checkpoint/state-value-codec.ts';
import { printTable, writeResults } from './report.ts';

const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 5);
const N = Number(process.env.FLOE_BENCH_VALUES ?? 200_000);

/** what the snapshot and level value codecs used before: Maps decoded as objects */
const previous = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });

const shapes: Record<string, (i: number) => unknown> = {
  'small integer': (i) => i & 0xffff,
  float: (i) => i / 7,
  'short string': (i) => `user-${i}`,
  'object of 4 fields': (i) => ({ id: i, name: `n${i}`, score: i / 3, active: (i & 1) === 0 }),
  'array of 10 numbers': (i) => Array.from({ length: 10 }, (_, k) => i + k),
  'Map of 10 entries': (i) => new Map(Array.from({ length: 10 }, (_, k) => [`k${k}`, i + k])),
  'Set of 10 numbers': (i) => new Set(Array.from({ length: 10 }, (_, k) => i + k)),
  'object with a Date': (i) => ({ at: new Date(i), n: i }),
};

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const rows: Array<Record<string, string | number>> = [];
const results: unknown[] = [];
for (const [shape, make] of Object.entries(shapes)) {
  const values = Array.from({ length: 1000 }, (_, i) => make(i));
  const encodedPrev = values.map((v) => Buffer.from(previous.pack(v)));
  const encodedNew = values.map((v) => Buffer.from(packStateValue(v, 'bench')));
  const best = { prevEnc: Infinity, newEnc: Infinity, prevDec: Infinity, newDec: Infinity };
  let sink = 0;
  for (let r = 0; r < RUNS; r++) {
    best.prevEnc = Math.min(
      best.prevEnc,
      time(() => {
        for (let i = 0; i < N; i++) sink += previous.pack(values[i % 1000]).length;
      }),
    );
    best.newEnc = Math.min(
      best.newEnc,
      time(() => {
        for (let i = 0; i < N; i++) sink += packStateValue(values[i % 1000], 'bench').length;
      }),
    );
    best.prevDec = Math.min(
      best.prevDec,
      time(() => {
        for (let i = 0; i < N; i++) sink += previous.unpack(encodedPrev[i % 1000]!) ? 1 : 0;
      }),
    );
    best.newDec = Math.min(
      best.newDec,
      time(() => {
        for (let i = 0; i < N; i++) sink += valuePackr.unpack(encodedNew[i % 1000]!) ? 1 : 0;
      }),
    );
  }
  if (sink < 0) console.log(sink);
  const perSec = (ms: number) => Math.round(N / (ms / 1000));
  const row = {
    shape,
    'bytes before': encodedPrev[1]!.length,
    'bytes now': encodedNew[1]!.length,
    'encode/s before': perSec(best.prevEnc).toLocaleString('en'),
    'encode/s now': perSec(best.newEnc).toLocaleString('en'),
    'encode now/before': (best.prevEnc / best.newEnc).toFixed(2),
    'decode/s before': perSec(best.prevDec).toLocaleString('en'),
    'decode/s now': perSec(best.newDec).toLocaleString('en'),
    'decode now/before': (best.prevDec / best.newDec).toFixed(2),
  };
  rows.push(row);
  results.push({
    shape,
    encodeBeforeMs: best.prevEnc,
    encodeNowMs: best.newEnc,
    decodeBeforeMs: best.prevDec,
    decodeNowMs: best.newDec,
    values: N,
  });
}
printTable(rows);
console.log(
  `\n${N.toLocaleString('en')} values per round, best of ${RUNS}; "before": msgpackr as the codecs used it (a Map came back as a plain object)`,
);
console.log(`written to ${writeResults('value-codec', { runs: RUNS, values: N, results })}`);

type Codec = Pick<typeof current, 'encodeSnapshotStream' | 'readSnapshotStream'>;

async function streamTimes(codec: Codec, chunks: current.EntryChunk[]): Promise<{ encodeMs: number; decodeMs: number }> {
  const header = { kind: 'full' as const, maxParallelism: 128, states: { v: 'value' as const } };
  const parts: Uint8Array[] = [];
  const encodeMs = await (async () => {
    const start = performance.now();
    for await (const b of codec.encodeSnapshotStream(header, chunks)) parts.push(b);
    return performance.now() - start;
  })();
  const bytes = Buffer.concat(parts);
  const decodeMs = time(() => {
    let n = 0;
    for (const c of codec.readSnapshotStream(bytes).chunks) n += c.puts.length;
    if (n !== chunks.length * 1000) throw new Error('decoded entries missing');
  });
  return { encodeMs, decodeMs };
}

const baselineDir = process.env.FLOE_BENCH_BASELINE;
if (baselineDir) {
  const baseline = (await import(join(baselineDir, 'src/backends/snapshot-codec.ts'))) as Codec;
  const ENTRIES = 500_000;
  const streamRows: Array<Record<string, string | number>> = [];
  const streamResults: unknown[] = [];
  for (const [shape, make] of [
    ['number values', (i: number) => i * 3],
    ['small object values', (i: number) => ({ n: i, s: 'abc', l: [1, 2] })],
  ] as const) {
    const chunks: current.EntryChunk[] = [];
    for (let i = 0; i < ENTRIES; i += 1000) {
      const keys = Array.from({ length: 1000 }, (_, k) => `key-${i + k}`);
      const values = Array.from({ length: 1000 }, (_, k) => make(i + k));
      // `entries` too: a baseline checkout from before keys and values were two arrays reads that
      const entries = keys.map((key, k) => ({ key, value: values[k] }));
      chunks.push({ keyGroup: (i / 1000) % 128, state: 'v', mapValues: false, keys, values, entries } as current.EntryChunk);
    }
    const best = { be: Infinity, bd: Infinity, ne: Infinity, nd: Infinity };
    for (let r = 0; r < RUNS + 2; r++) {
      const b = await streamTimes(baseline, chunks);
      const n = await streamTimes(current, chunks);
      best.be = Math.min(best.be, b.encodeMs);
      best.bd = Math.min(best.bd, b.decodeMs);
      best.ne = Math.min(best.ne, n.encodeMs);
      best.nd = Math.min(best.nd, n.decodeMs);
    }
    streamRows.push({
      'snapshot stream, 500k entries': shape,
      'encode ms baseline': best.be.toFixed(1),
      'encode ms now': best.ne.toFixed(1),
      'encode baseline/now': (best.be / best.ne).toFixed(2),
      'decode ms baseline': best.bd.toFixed(1),
      'decode ms now': best.nd.toFixed(1),
      'decode baseline/now': (best.bd / best.nd).toFixed(2),
    });
    streamResults.push({ shape, entries: ENTRIES, ...best });
  }
  console.log('');
  printTable(streamRows);
  console.log(`baseline: ${baselineDir}; best of ${RUNS + 2} alternating rounds; ratios above 1: this checkout is faster`);
  console.log(`written to ${writeResults('value-codec-stream', { baseline: baselineDir, results: streamResults })}`);
}
