// Does an open dashboard slow the job? Word count with checkpoints every 200 ms (the job ends at a checkpoint: a short interval keeps that wait small), with and without a browser on its live overview.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, StreamExecutionEnvironment } from '../src/index.ts';
import { JobRegistry, createRestServer, startRestServer } from '../src/server/rest-server.ts';
import { LiveSampler } from '../src/web/live-feed.ts';
import { generateText } from '../spec/fixtures/generate-text.ts';
import { openBrowser } from '../spec/helpers/browser.ts';
import { printTable, writeResults } from './report.ts';
import { wordCountPipeline } from './word-count-pipeline.ts';

const WORDS = Number(process.env.FLOE_BENCH_WORDS ?? 3_000_000);
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'floe-bench-dash-'));
const input = join(dir, 'input.txt');
writeFileSync(input, generateText(WORDS, { seed: 3, vocabulary: 5000 }));
console.log(`input: ${(statSync(input).size / 1e6).toFixed(1)} MB, ${WORDS.toLocaleString()} words\n`);

const browser = await openBrowser();

/** One run: the REST server always serves the job; with `page`, a browser shows its overview (graph, subtasks, task actors) live until the end. */
async function run(round: number, page: boolean): Promise<{ ms: number; cpuMs: number; samples: number; requests: number }> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2, 'execution.checkpointing.interval': 200 });
  wordCountPipeline(env, FileSink, input, join(dir, `out-${round}-${page}`));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const client = await env.executeAsync('dashboard bench');
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [dir] });
  // the page's requests (its files, then the REST polls), counted
  let requests = 0;
  app.server.on('request', () => requests++);
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
  return { ms, cpuMs: (d.user + d.system) / 1000, samples, requests };
}

/** CPU ms of one live sample (taken and serialised as the feed does) and of one of the page's REST polls (GET /jobs/:id), over the bench's own job while it runs. */
async function costPerOperation(): Promise<{ sampleMs: number; sampleKiB: number; requestMs: number }> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2, 'execution.checkpointing.interval': 200 });
  wordCountPipeline(env, FileSink, input, join(dir, 'out-per-op'));
  const client = await env.executeAsync('dashboard bench per operation');
  const jobs = new JobRegistry();
  jobs.add(client);
  const app = createRestServer(jobs, { allowedDirs: [dir] });
  await app.ready();
  const sampler = new LiveSampler();
  const cpuOf = async (n: number, f: () => unknown) => {
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await f();
    const d = process.cpuUsage(c0);
    return (d.user + d.system) / 1000 / n;
  };
  let bytes = 0;
  // synchronous: the job's run loop cannot interleave its own work into the figure
  const sampleMs = await cpuOf(
    500,
    () => (bytes += JSON.stringify({ type: 'floe.live', now: Date.now(), jobs: [sampler.sample(client)] }).length),
  );
  // a request yields to the event loop, where a running job would add its work: the job is canceled first (its details keep their shape)
  await client.cancel();
  const requestMs = await cpuOf(200, () => app.inject({ url: `/jobs/${client.jobId}` }));
  await app.close();
  rmSync(join(dir, 'out-per-op'), { recursive: true, force: true });
  return { sampleMs, sampleKiB: bytes / 500 / 1024, requestMs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cases = { 'no page': [] as number[], 'dashboard open, live': [] as number[] };
const cpu = { 'no page': [] as number[], 'dashboard open, live': [] as number[] };
const samples: number[] = [];
/** per dashboard run: live samples and the page's requests per second of the run */
const rates: Array<{ samples: number; requests: number }> = [];
// interleaved, alternating which goes first: a noisy neighbour hits both alike
for (let round = 0; round < RUNS; round++) {
  for (const open of round % 2 ? [true, false] : [false, true]) {
    const r = await run(round, open);
    const name = open ? 'dashboard open, live' : 'no page';
    cases[name].push(r.ms);
    cpu[name].push(r.cpuMs);
    if (open) {
      samples.push(r.samples);
      rates.push({ samples: r.samples / (r.ms / 1000), requests: r.requests / (r.ms / 1000) });
    }
  }
  console.log(
    `round ${round + 1}/${RUNS}: no page ${(cases['no page'][round]! / 1000).toFixed(2)} s, dashboard ${(cases['dashboard open, live'][round]! / 1000).toFixed(2)} s`,
  );
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
console.log(
  `\nthe open dashboard costs ${(cost * 100).toFixed(1)}% throughput (rounds: ${perRound.map((c) => `${(c * 100).toFixed(1)}%`).join(', ')}; target within 3%); live samples received per run: ${samples.join(', ')}`,
);
console.log(
  `floe process cpu with the dashboard open: ${(median(perRoundCpu) * 100).toFixed(1)}% more (rounds: ${perRoundCpu.map((c) => `${(c * 100).toFixed(1)}%`).join(', ')})`,
);

// The same cost without the machine's noise: what one live sample and one REST poll take in floe's process (CPU, a tight
// loop over a running job), times how often the open page caused them per second. On a shared machine the
// side-by-side times above move by more than 3% from run to run; this figure does not.
const perOp = await costPerOperation();
const perSecond = median(rates.map((r) => r.samples)) * perOp.sampleMs + median(rates.map((r) => r.requests)) * perOp.requestMs;
console.log(
  `per operation (CPU in floe's process): a live sample ${perOp.sampleMs.toFixed(3)} ms (${perOp.sampleKiB.toFixed(1)} KiB), a REST poll of the page ${perOp.requestMs.toFixed(3)} ms; at ${median(rates.map((r) => r.samples)).toFixed(1)} samples/s and ${median(rates.map((r) => r.requests)).toFixed(1)} requests/s the page costs ${perSecond.toFixed(2)} ms of CPU per second = ${(perSecond / 10).toFixed(3)}% of one core`,
);
console.log(
  `results: ${writeResults('dashboard', { words: WORDS, runs: RUNS, cases, cpu, cost, perRound, perRoundCpu, samples, rates, perOp, perSecondMs: perSecond })}`,
);
rmSync(dir, { recursive: true, force: true });
