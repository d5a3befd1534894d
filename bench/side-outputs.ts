// `npm run bench -- side-outputs [--baseline <checkout>]`: what a process function with a side output costs per record, floe against a plain loop of the same functions (and a baseline checkout beside, e.g. one that chained a selector operator behind every process function).
import { baselineOption, importFrom, median, ratioText } from './baseline.ts';
import { printTable, writeResults } from './report.ts';

type Floe = typeof import('../src/index.ts');

const RECORDS = Number(process.env.FLOE_BENCH_SIDE_RECORDS ?? 3_000_000);
const ROUNDS = Number(process.env.FLOE_BENCH_RUNS ?? 5);
const baseline = baselineOption();

/** The job: numbers -> process (1 in 10 to a side output, the rest doubled to the main output) -> map -> sink; the side output -> map -> sink. */
async function runFloe(floe: Floe): Promise<{ ms: number; main: number; side: number }> {
  const env = floe.StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  const tag = new floe.OutputTag<number>('tenth');
  let main = 0;
  let side = 0;
  const counter = (count: () => void): import('../src/index.ts').Sink<number> => ({
    name: 'Count',
    createWriter: () => ({ open() {}, processElement: count }),
  });
  const split = env.fromSequence(1, RECORDS).process<number>((n: number, ctx, out) => {
    if (n % 10 === 0) ctx.output(tag, n);
    else out.collect(n * 2);
  });
  split.map((n) => n + 1).sinkTo(counter(() => void main++));
  split
    .getSideOutput(tag)
    .map((n) => n - 1)
    .sinkTo(counter(() => void side++));
  const t0 = performance.now();
  await env.execute('side-outputs');
  return { ms: performance.now() - t0, main, side };
}

/** The same functions in a plain loop. */
function runLoop(): { ms: number; main: number; side: number } {
  let main = 0;
  let side = 0;
  let sum = 0; // keeps the maps' results alive
  const split = (n: number, output: (x: number) => void, collect: (x: number) => void) => {
    if (n % 10 === 0) output(n);
    else collect(n * 2);
  };
  const mainOut = (n: number) => {
    sum += n + 1;
    main++;
  };
  const sideOut = (n: number) => {
    sum += n - 1;
    side++;
  };
  const t0 = performance.now();
  for (let n = 1; n <= RECORDS; n++) split(n, sideOut, mainOut);
  const ms = performance.now() - t0;
  if (sum < 0) console.log(sum);
  return { ms, main, side };
}

const current = await importFrom<Floe>(undefined, 'src/index.ts');
const old = baseline ? await importFrom<Floe>(baseline, 'src/index.ts') : undefined;
const cases: Array<{ name: string; run: () => Promise<{ ms: number; main: number; side: number }> }> = [
  { name: 'plain loop', run: async () => runLoop() },
  { name: 'floe', run: () => runFloe(current) },
  ...(old ? [{ name: `baseline floe (${baseline})`, run: () => runFloe(old) }] : []),
];
console.log(`side outputs: ${RECORDS.toLocaleString()} records, 1 in 10 to a side output, ${ROUNDS} interleaved rounds`);
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(k + round) % cases.length]!;
    const r = await c.run();
    if (r.main + r.side !== RECORDS || r.side !== Math.floor(RECORDS / 10))
      throw new Error(`${c.name}: wrong counts ${r.main} + ${r.side}`);
    times.get(c.name)!.push(r.ms);
  }
}
const loop = times.get('plain loop')!;
const floeTimes = times.get('floe')!;
const rows = cases.map((c) => {
  const ts = times.get(c.name)!;
  return {
    case: c.name,
    'records/s (median)': Math.round(RECORDS / (median(ts) / 1000)).toLocaleString(),
    'vs plain loop': ratioText(ts.map((t, i) => loop[i]! / t)),
    'vs floe': ratioText(ts.map((t, i) => floeTimes[i]! / t)),
  };
});
printTable(rows);
console.log(`results: ${writeResults('side-outputs', { records: RECORDS, rounds: ROUNDS, times: Object.fromEntries(times) })}`);
