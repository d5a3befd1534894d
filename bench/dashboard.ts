// Does an open dashboard slow the job? Word count with checkpoints every 200 ms (the job ends at a checkpoint: a short interval keeps that wait small), with and without a browser on its live overview.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, StreamExecutionEnvironment } from '../src/index.ts';
import { JobRegistry, startRestServer } from '../src/server/rest-server.ts';
import { generateText } from '../spec/fixtures/generate-text.ts';
import { openBrowser } from '../spec/helpers/browser.ts';
import { printTable, writeResults } from './report.ts';

const WORDS = Number(process.env.FLOE_BENCH_WORDS ?? 3_000_000);
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'floe-bench-dash-'));
const input = join(dir, 'input.txt');
writeFileSync(input, generateText(WORDS, { seed: 3, vocabulary: 5000 }));
console.log(`input: ${(statSync(input).size / 1e6).toFixed(1)} MB, ${WORDS.toLocaleString()} words\n`);

const browser = await openBrowser();

/** One run: the REST server always serves the job; with `page`, a browser shows its overview (graph, subtasks, task actors) live until the end. */
async function run(round: number, page: boolean): Promise<{ ms: number; cpuMs: number; samples: number }> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2, 'execution.checkpointing.interval': 200 });
  env.readTextFile(input).uid('source')
    .flatMap((line: string) => line.split(' ').filter(Boolean)).uid('split')
    .map((w: string) => [w, 1] as [string, number]).uid('tag')
    .keyBy((t) => t[0])
    .reduce((a, b) => [a[0], a[1] + b[1]]).uid('count')
    .sinkTo(new FileSink(join(dir, `out-${round}-${page}`))).uid('sink');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const client = await env.executeAsync('dashboard bench');
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [dir] });
  let samples = 0;
  if (page) {
    browser.page.on('websocket', (ws) => ws.on('framereceived', () => samples++));
    await browser.page.goto(`http://127.0.0.1:${port}/#/job/running/${client.jobId}/overview`);
  }
  await client.getJobExecutionResult();
  const ms = performance.now() - t0;
  const d = process.cpuUsage(c0);
  if (page) {
    browser.page.removeAllListeners('websocket');
    await browser.page.goto('about:blank');
  }
  await app.close();
  rmSync(join(dir, `out-${round}-${page}`), { recursive: true, force: true });
  return { ms, cpuMs: (d.user + d.system) / 1000, samples };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cases = { 'no page': [] as number[], 'dashboard open, live': [] as number[] };
const cpu = { 'no page': [] as number[], 'dashboard open, live': [] as number[] };
const samples: number[] = [];
// interleaved, alternating which goes first: a noisy neighbour hits both alike
for (let round = 0; round < RUNS; round++) {
  for (const open of round % 2 ? [true, false] : [false, true]) {
    const r = await run(round, open);
    const name = open ? 'dashboard open, live' : 'no page';
    cases[name].push(r.ms);
    cpu[name].push(r.cpuMs);
    if (open) samples.push(r.samples);
  }
  console.log(`round ${round + 1}/${RUNS}: no page ${(cases['no page'][round]! / 1000).toFixed(2)} s, dashboard ${(cases['dashboard open, live'][round]! / 1000).toFixed(2)} s`);
}
await browser.close();
const rows = Object.entries(cases).map(([name, ms]) => ({
  case: `${name} (${WORDS / 1e6}M words, p=2)`,
  'time s (median)': (median(ms) / 1000).toFixed(2),
  'words/s': Math.round((WORDS / median(ms)) * 1000).toLocaleString(),
  'floe cpu s (median)': (median(cpu[name as keyof typeof cpu]) / 1000).toFixed(2),
}));
printTable(rows);
// per round, back to back: the dashboard's cost as lost throughput
const perRound = cases['no page'].map((off, i) => 1 - off / cases['dashboard open, live'][i]!);
const cost = median(perRound);
// the floe process's own CPU (the browser's is another process): what serving the page and the feed adds to the job's process
const perRoundCpu = cpu['no page'].map((off, i) => cpu['dashboard open, live'][i]! / off - 1);
console.log(`\nthe open dashboard costs ${(cost * 100).toFixed(1)}% throughput (rounds: ${perRound.map((c) => `${(c * 100).toFixed(1)}%`).join(', ')}; target within 3%); live samples received per run: ${samples.join(', ')}`);
console.log(`floe process cpu with the dashboard open: ${(median(perRoundCpu) * 100).toFixed(1)}% more (rounds: ${perRoundCpu.map((c) => `${(c * 100).toFixed(1)}%`).join(', ')})`);
console.log(`results: ${writeResults('dashboard', { words: WORDS, runs: RUNS, cases, cpu, cost, perRound, perRoundCpu, samples })}`);
rmSync(dir, { recursive: true, force: true });
