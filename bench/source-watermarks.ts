// Per-split watermarks: what a record costs through fromSource's operator when the reader emits per split, against one generator per subtask and a plain loop.
import { RecordTimestamp } from '../src/operators/event-time.ts';
import type { OperatorContext, Output } from '../src/operators/operator.ts';
import { SourceTimestampsAndWatermarksOperator } from '../src/operators/source-timestamps-and-watermarks-operator.ts';
import { TimestampsAndWatermarksOperator } from '../src/operators/timestamps-and-watermarks-operator.ts';
import { WatermarkStrategy } from '../src/index.ts';
import { printTable, writeResults } from './report.ts';

const RECORDS = Number(process.env.FLOE_BENCH_RECORDS ?? 5_000_000);
const ROUNDS = Number(process.env.FLOE_BENCH_ROUNDS ?? 5);
/** records per "batch": periodic emission is checked after each, as the task does after each poll */
const BATCH = 256;
const SPLITS = [1, 4, 16];

interface Event {
  ts: number;
}
const events: Event[] = Array.from({ length: 4096 }, (_, i) => ({ ts: 1_700_000_000_000 + i * 10 }));
const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(2000).withTimestampAssigner((e) => e.ts);

let sink = 0;
let watermark = 0;
const out: Output<Event> = {
  collect: () => void sink++,
  emitWatermark: (ts) => void (watermark = ts),
  emitWatermarkStatus: () => {},
};
const context = { operatorUid: 'bench', elementTimestamp: new RecordTimestamp(), autoWatermarkInterval: 1 } as unknown as OperatorContext;

/** The same work by hand: assign, emit, track the maximum, a watermark per batch. */
function plainLoop(): number {
  const t0 = performance.now();
  let max = -Infinity;
  for (let i = 0; i < RECORDS; i++) {
    const e = events[i & 4095]!;
    const ts = e.ts;
    out.collect(e);
    if (ts > max) max = ts;
    if ((i & (BATCH - 1)) === BATCH - 1) out.emitWatermark!(max - 2001);
  }
  return performance.now() - t0;
}

/** Through an operator: `collect` per record into the output the reader would use, periodic emission per batch. */
function through(make: () => TimestampsAndWatermarksOperator<Event>, splits: number | null): number {
  let now = 0;
  const op = make();
  op.open(context, out);
  const outputs =
    splits === null
      ? [{ collect: (e: Event) => op.processElement(e) }]
      : Array.from({ length: splits }, (_, s) => (op as SourceTimestampsAndWatermarksOperator<Event>).forSplit(`split-${s}`));
  const n = outputs.length;
  const t0 = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    outputs[i % n]!.collect(events[i & 4095]!);
    if ((i & (BATCH - 1)) === BATCH - 1) op.onProcessingTime(++now);
  }
  const ms = performance.now() - t0;
  op.close();
  return ms;
}

const cases: Array<[string, () => number]> = [
  ['plain loop (assign, max, a watermark per batch)', plainLoop],
  [
    'assignTimestampsAndWatermarks (one generator per subtask)',
    () => through(() => new TimestampsAndWatermarksOperator(strategy, () => 0), null),
  ],
  [
    'fromSource, reader collects itself (one generator)',
    () => through(() => new SourceTimestampsAndWatermarksOperator(strategy, () => 0), null),
  ],
  ...SPLITS.map((s): [string, () => number] => [
    `fromSource, ${s} split output${s > 1 ? 's' : ''} (forSplit, minimum over splits)`,
    () => through(() => new SourceTimestampsAndWatermarksOperator(strategy, () => 0), s),
  ]),
];

// rounds interleave the cases, so a busy moment on the machine falls on all of them; the best round counts
const best = new Map<string, number>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of cases) {
    const ms = run();
    best.set(name, Math.min(best.get(name) ?? Infinity, ms));
  }
}
const base = best.get(cases[0]![0])!;
const subtask = best.get(cases[1]![0])!;
const rows = cases.map(([name]) => {
  const ms = best.get(name)!;
  return {
    case: name,
    'ns/record': ((ms * 1e6) / RECORDS).toFixed(1),
    'vs plain loop': `${(ms / base).toFixed(2)}x`,
    'vs per subtask': `${(ms / subtask).toFixed(2)}x`,
  };
});
console.log(
  `${RECORDS} records, best of ${ROUNDS} rounds, watermark check every ${BATCH} records (last watermark ${watermark}, ${sink} collected)`,
);
printTable(rows);
console.log(`results: ${writeResults('source-watermarks', { records: RECORDS, rounds: ROUNDS, rows })}`);
