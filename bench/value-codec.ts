// Value codec: what the state value format (Maps tagged, unserialisable values refused) costs against the msgpackr options it replaced, per value shape.
//
// `npm run bench -- value-codec`: encodes and decodes each shape many times with both codecs, one
// after the other in the same process (alternating rounds, best of FLOE_BENCH_RUNS, default 5),
// as the level backend does on every write to LevelDB and every read back.
import { Packr } from 'msgpackr';
import { packStateValue, valuePackr } from '../src/backends/state-value-codec.ts';
import { printTable, writeResults } from './report.ts';

const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 5);
const N = Number(process.env.FLOE_BENCH_VALUES ?? 200_000);

/** what the snapshot and level value codecs used before: Maps decoded as objects */
const previous = new Packr({ structuredClone: true, useRecords: false, moreTypes: true });

const shapes: Record<string, (i: number) => unknown> = {
  'small integer': (i) => i & 0xffff,
  'float': (i) => i / 7,
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
    best.prevEnc = Math.min(best.prevEnc, time(() => { for (let i = 0; i < N; i++) sink += previous.pack(values[i % 1000]).length; }));
    best.newEnc = Math.min(best.newEnc, time(() => { for (let i = 0; i < N; i++) sink += packStateValue(values[i % 1000], 'bench').length; }));
    best.prevDec = Math.min(best.prevDec, time(() => { for (let i = 0; i < N; i++) sink += previous.unpack(encodedPrev[i % 1000]!) ? 1 : 0; }));
    best.newDec = Math.min(best.newDec, time(() => { for (let i = 0; i < N; i++) sink += valuePackr.unpack(encodedNew[i % 1000]!) ? 1 : 0; }));
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
  results.push({ shape, encodeBeforeMs: best.prevEnc, encodeNowMs: best.newEnc, decodeBeforeMs: best.prevDec, decodeNowMs: best.newDec, values: N });
}
printTable(rows);
console.log(`\n${N.toLocaleString('en')} values per round, best of ${RUNS}; "before": msgpackr as the codecs used it (a Map came back as a plain object)`);
console.log(`written to ${writeResults('value-codec', { runs: RUNS, values: N, results })}`);
