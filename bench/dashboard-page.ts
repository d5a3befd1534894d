// Does the dashboard page stay responsive with 64 subtasks and 1,000 checkpoints? Long tasks (> 50 ms) in the page while it redraws live.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, StreamExecutionEnvironment } from '../src/index.ts';
import { JobRegistry, startRestServer } from '../src/server/rest-server.ts';
import { generateText } from '../spec/fixtures/generate-text.ts';
import { openBrowser } from '../spec/helpers/browser.ts';
import { printTable, writeResults } from './report.ts';

const SECONDS = Number(process.env.FLOE_BENCH_SECONDS ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'floe-bench-page-'));
writeFileSync(join(dir, 'in.txt'), generateText(4_000_000, { seed: 1, vocabulary: 3000 }));
// two vertices at parallelism 32: 64 subtasks
const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 32, 'execution.checkpointing.interval': 500 });
env
  .readTextFile(join(dir, 'in.txt'))
  .uid('source')
  .flatMap((line: string) => line.split(' ').filter(Boolean))
  .uid('split')
  .keyBy((w) => w)
  .map((w: string) => w.length)
  .uid('len')
  .sinkTo(new FileSink(join(dir, 'out')))
  .uid('sink');
const client = await env.executeAsync('page bench');
const jobs = new JobRegistry();
jobs.add(client);
const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [dir] });
const browser = await openBrowser();
const { page } = browser;

// 1,000 checkpoints in the history (web.checkpoints.history=1000 keeps them; a real thousand at 64 subtasks would take
// minutes): the REST answer is grown to 1,000 entries in the browser's view of it, paged as the server pages it
await page.route(new RegExp(`/jobs/${client.jobId}/checkpoints(\\?.*)?$`), async (route) => {
  const query = new URL(route.request().url()).searchParams;
  const response = await route.fetch();
  const body = await response.json();
  const template = body.history[0] ?? {
    status: 'COMPLETED',
    checkpoint_type: 'CHECKPOINT',
    trigger_timestamp: Date.now(),
    end_to_end_duration: 10,
    state_size: 1000,
    num_acknowledged_subtasks: 64,
    num_subtasks: 64,
  };
  const all = Array.from({ length: 1000 }, (_, i) => ({ ...template, id: 1000 - i }));
  const offset = Number(query.get('history-offset') ?? 0);
  const limit = query.has('history-limit') ? Number(query.get('history-limit')) : all.length;
  body.history = all.slice(offset, offset + limit);
  body.history_kept = all.length;
  await route.fulfill({ response, json: body });
});

async function longTasks(hash: string): Promise<{ count: number; maxMs: number; frames: number }> {
  await page.goto(`http://127.0.0.1:${port}/${hash}`);
  // a string, not a function: tsx's compiled functions call helpers the page does not have
  await page.evaluate(`(() => {
    window.__long = [];
    window.__frames = 0;
    new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__long.push(e.duration))).observe({ type: 'longtask' });
    const count = () => { window.__frames += 1; requestAnimationFrame(count); };
    requestAnimationFrame(count);
  })()`);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  return page.evaluate(
    `({ count: window.__long.length, maxMs: Math.round(Math.max(0, ...window.__long)), frames: window.__frames })`,
  ) as Promise<{ count: number; maxMs: number; frames: number }>;
}

const overview = await longTasks(`#/job/running/${client.jobId}/overview`);
const subtasks = await page.locator('tr[data-subtask]').count();
const checkpoints = await longTasks(`#/job/running/${client.jobId}/checkpoints`);
const rows = await page.locator('tr[data-testid="checkpoint-row"]').count();
printTable([
  {
    view: `overview (${subtasks} subtasks, live)`,
    [`long tasks in ${SECONDS} s`]: overview.count,
    'longest ms': overview.maxMs,
    'frames/s': (overview.frames / SECONDS).toFixed(0),
  },
  {
    view: `checkpoints (1,000 in history, ${rows} rows drawn)`,
    [`long tasks in ${SECONDS} s`]: checkpoints.count,
    'longest ms': checkpoints.maxMs,
    'frames/s': (checkpoints.frames / SECONDS).toFixed(0),
  },
]);
console.log(`results: ${writeResults('dashboard-page', { seconds: SECONDS, subtasks, overview, checkpoints, rows })}`);
await browser.close();
await client.cancel().catch(() => {});
await app.close();
rmSync(dir, { recursive: true, force: true });
