// A job with a thousand checkpoints: web.checkpoints.history keeps them, the REST API pages them, the dashboard reaches every one.
import t from 'tap';
import { CollectSink, StreamExecutionEnvironment, type Source } from '../../src/index.ts';
import { JobRegistry, startRestServer } from '../../src/server/rest-server.ts';
import { openBrowser } from '../helpers/browser.ts';
import { until } from '../helpers/floe-process.ts';

const KEPT = 1000;
// a thousand checkpoints take a while on a busy machine: past tap's 120 s per file
t.setTimeout(600_000);

/** One record, then idle (checkpoints go on, the job costs nothing between them) until the spec ends it. */
let ended = false;
const idle: Source<number> = {
  name: 'Idle',
  createReader() {
    let sent = false;
    return {
      open() {},
      poll(output) {
        if (!sent) output.collect(1);
        sent = true;
        return ended ? 'end' : 'idle';
      },
      snapshotState() {},
    };
  },
};

t.test('1,000 checkpoints kept (web.checkpoints.history), paged by the REST API, every one reachable from the dashboard', async (t) => {
  t.setTimeout(600_000);
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    'execution.checkpointing.interval': '1ms',
    'web.checkpoints.history': KEPT,
  });
  env
    .fromSource(idle)
    .uid('idle')
    .map((n: number) => n + 1)
    .uid('plus')
    .sinkTo(new CollectSink<number>([]))
    .uid('collect');
  const client = await env.executeAsync('thousand checkpoints');
  t.teardown(() => client.cancel().catch(() => {}));
  // more than kept: the oldest are dropped, the newest thousand stay
  await until(() => client.master.checkpointCounts.completed > KEPT + 20, 'more than a thousand checkpoints', 540_000);
  // then the job finishes: its history stands still while it is read
  ended = true;
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [t.testdir()] });
  t.teardown(() => app.close());
  const base = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };

  // REST: all of it without paging (as Flink), a page with ?history-offset=&history-limit=, bad values refused
  const all = await get(`/jobs/${client.jobId}/checkpoints`);
  t.equal(all.json.history.length, KEPT, 'the whole kept history');
  t.equal(all.json.history_kept, KEPT);
  t.ok(all.json.counts.completed > KEPT, `counts count every checkpoint (${all.json.counts.completed})`);
  const ids = (all.json.history as Array<{ id: number }>).map((c) => c.id);
  t.ok(
    ids.every((id, i) => i === 0 || id < ids[i - 1]!),
    'newest first',
  );
  const page = await get(`/jobs/${client.jobId}/checkpoints?history-offset=100&history-limit=50`);
  t.equal(page.json.history.length, 50);
  t.same(
    page.json.history.map((c: { id: number }) => c.id),
    ids.slice(100, 150),
    "the second hundred's first half",
  );
  const oldest = (await get(`/jobs/${client.jobId}/checkpoints?history-offset=${KEPT - 1}&history-limit=1`)).json.history[0].id as number;
  t.equal(oldest, ids.at(-1), 'the last page ends at the oldest kept');
  t.same((await get(`/jobs/${client.jobId}/checkpoints?history-offset=${KEPT}`)).json.history, [], 'past the end: none');
  t.equal((await get(`/jobs/${client.jobId}/checkpoints/details/${oldest}`)).status, 200, 'the oldest kept checkpoint has its details');
  for (const bad of ['history-offset=-1', 'history-limit=x', 'history-offset=1e3']) {
    const r = await get(`/jobs/${client.jobId}/checkpoints?${bad}`);
    t.equal(r.status, 400, bad);
    t.equal(r.json.code, 'FLOE_REST_BAD_REQUEST');
  }

  // the dashboard: pages of 100 rows, newest first; "Older" down to the oldest kept one
  const browser = await openBrowser();
  t.teardown(() => browser.close());
  const { page: tab } = browser;
  await tab.goto(`${base}/#/job/completed/${client.jobId}/checkpoints`);
  const range = tab.getByTestId('history-range');
  await tab.waitForFunction(() => /of 1000 kept/.test(document.querySelector('[data-testid="history-range"]')?.textContent ?? ''), null, {
    timeout: 60_000,
  });
  t.match(await range.textContent(), /1–100 of 1000 kept/);
  t.equal(await tab.locator('tr[data-testid="checkpoint-row"]').count(), 100, 'one page of rows drawn');
  t.ok(await tab.getByTestId('history-newer').isDisabled(), 'no newer page than the first');
  for (let n = 1; n < KEPT / 100; n++) {
    await tab.getByTestId('history-older').click();
    await tab.waitForFunction(
      (from) => (document.querySelector('[data-testid="history-range"]')?.textContent ?? '').includes(`${from}–`),
      n * 100 + 1,
      { timeout: 60_000 },
    );
  }
  t.match(await range.textContent(), /901–1000 of 1000 kept/);
  t.ok(await tab.getByTestId('history-older').isDisabled(), 'the last page');
  const shown = await tab
    .locator('tr[data-testid="checkpoint-row"]')
    .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-checkpoint'))));
  t.equal(shown.length, 100);
  t.same(shown, ids.slice(900), 'the last page: the oldest hundred kept, down to the oldest');
  await tab.locator('tr[data-testid="checkpoint-row"]').last().click();
  await tab.getByTestId('checkpoint-detail').locator('tbody tr').first().waitFor();
  t.pass('an old checkpoint opens its per-subtask details');
  await tab.getByTestId('history-newer').click();
  await tab.waitForFunction(() => (document.querySelector('[data-testid="history-range"]')?.textContent ?? '').includes('801–'), null, {
    timeout: 60_000,
  });
  t.same(browser.foreign, []);
});
