// The dashboard in a real browser while a job runs: the job graph with every operator uid and live task states, checkpoints arriving, savepoint and cancel buttons.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { JobRegistry, startRestServer } from '../../src/server/rest-server.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { openBrowser } from '../helpers/browser.ts';
import { root } from '../helpers/floe-process.ts';
import { wordCountEnv } from '../fixtures/wordcount-job.ts';

/** FLOE_SCREENSHOTS=1 writes the README's pictures of the overview and checkpoints views into docs/. */
const SCREENSHOTS = process.env.FLOE_SCREENSHOTS === '1';

t.test('dashboard over a running job', async (t) => {
  t.setTimeout(240_000);
  const dir = t.testdir({ 'in.txt': generateText(600_000, { seed: 5, vocabulary: 500 }), sp: {} });
  const client = await wordCountEnv({
    input: join(dir, 'in.txt'),
    out: join(dir, 'out'),
    parallelism: 2,
    slowMs: 0.5,
    config: { 'execution.checkpointing.interval': '300ms' },
  }).executeAsync('dashboard wc');
  t.teardown(() => client.cancel().catch(() => {}));
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [join(dir, 'sp')], savepointsDir: join(dir, 'sp') });
  t.teardown(() => app.close());
  const base = `http://127.0.0.1:${port}`;
  const browser = await openBrowser();
  t.teardown(() => browser.close());
  const { page } = browser;

  // #/overview lists the running job and links to its page
  await page.goto(`${base}/#/overview`);
  await page.locator(`tr[data-job="${client.jobId}"] a`).click();
  await page.waitForURL(`**/#/job/running/${client.jobId}/overview`);

  // every operator uid is drawn in the graph, vertices carry one of the three colours
  const graph = page.getByTestId('job-graph');
  await graph.waitFor();
  for (const uid of ['source', 'slow', 'split', 'tag', 'count', 'sink']) t.match(await graph.textContent(), uid, `uid ${uid} in the graph`);
  const loads = await page.locator('g.vertex').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-load')));
  t.equal(loads.length, client.master.graph.vertices.length, 'one box per vertex');
  t.ok(loads.every((l) => ['idle', 'busy', 'backpressured'].includes(l!)));

  // live task actor states: running.* per subtask, records in growing sample after sample
  const states = page.getByTestId('task-state');
  await states
    .filter({ hasText: /^running\.processing$/ })
    .first()
    .waitFor();
  t.equal(await page.locator('tr[data-subtask]').count(), client.master.execution!.tasks.length, 'a row per subtask');
  // records out summed over every subtask (a source counts none in)
  const recordsOut = () =>
    page
      .getByTestId('records-out')
      .allTextContents()
      .then((cells) => cells.reduce((sum, c) => sum + Number(c), 0));
  const before = await recordsOut();
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('[data-testid="records-out"]')].reduce((sum, c) => sum + Number(c.textContent), 0) > n,
    before,
    { timeout: 60_000 },
  );
  await page.locator('[data-testid="actor-tree"] li[data-actor="dashboard wc"]').waitFor();
  if (SCREENSHOTS) await page.screenshot({ path: join(root, 'docs', 'dashboard-overview.png'), fullPage: true });

  // checkpoints view: completed checkpoints arrive while it is open
  await page.getByRole('link', { name: 'Checkpoints' }).click();
  const completed = page.locator('tr[data-testid="checkpoint-row"][data-status="COMPLETED"]');
  await completed.first().waitFor();
  const first = Number(await completed.first().getAttribute('data-checkpoint'));
  await page.waitForFunction(
    (id) =>
      Number(document.querySelector('tr[data-testid="checkpoint-row"][data-status="COMPLETED"]')?.getAttribute('data-checkpoint')) > id,
    first,
    { timeout: 60_000 },
  );
  t.pass('a newer completed checkpoint arrived');
  await completed.first().click();
  await page.getByTestId('checkpoint-detail').locator('tbody tr').first().waitFor();

  // trigger savepoint: listed with its path
  await page.getByTestId('trigger-savepoint').click();
  const path = await page.getByTestId('savepoint-path').first().textContent({ timeout: 60_000 });
  t.ok(path?.startsWith(join(dir, 'sp')), `savepoint under the default target: ${path}`);
  t.ok(existsSync(join(path!, '_metadata')), 'its _metadata is on disk');
  if (SCREENSHOTS) {
    mkdirSync(join(root, 'docs'), { recursive: true });
    await page.screenshot({ path: join(root, 'docs', 'dashboard-checkpoints.png'), fullPage: true });
  }

  // exceptions (none: the job has not failed) and configuration, as the REST API serves them
  await page.getByRole('link', { name: 'Exceptions' }).click();
  await page.getByTestId('no-exceptions').waitFor();
  await page.getByRole('link', { name: 'Configuration' }).click();
  t.match(await page.getByTestId('job-config').textContent(), /restart-strategy/);
  t.match(await page.getByTestId('checkpoint-config').textContent(), /interval/);

  // cancel: the REST API cancels, the task actors' states follow live
  await page.getByRole('link', { name: 'Overview' }).click();
  await states.first().waitFor();
  await page.getByTestId('cancel-job').click();
  await states
    .filter({ hasText: /^canceled|canceling/ })
    .first()
    .waitFor({ timeout: 60_000 });
  t.equal((await client.getJobExecutionResult()).status, 'CANCELED');
  t.same(browser.foreign, [], 'offline: nothing loaded from another host');
});

t.test('off loopback the live feed wants the REST token', async (t) => {
  const jobs = new JobRegistry();
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [t.testdir()], authToken: 's3cret' });
  t.teardown(() => app.close());
  const open = (query: string, origin?: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/live${query}`, origin ? { origin } : {});
      ws.once('message', (data) => (resolve(`message ${String(data).slice(0, 20)}`), ws.close()));
      ws.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      ws.once('error', () => {});
    });
  t.equal(await open(''), 'status 401', 'no token: refused');
  t.equal(await open('?token=wrong'), 'status 401', 'wrong token: refused');
  t.match(await open('?token=s3cret'), /^message \{"type":"floe.live"/, 'the token: live samples');
  t.match(await open('?token=s3cret', `http://127.0.0.1:${port}`), /^message/, "the dashboard's own page: live samples");
  t.equal(await open('?token=s3cret', 'https://evil.example'), 'status 403', 'a page of another origin: refused');
  const local = await startRestServer(jobs, { port: 0, allowedDirs: [t.testdir()] });
  t.teardown(() => local.app.close());
  const rebound = await new Promise<string>((resolve) => {
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 is same-origin with itself
    const ws = new WebSocket(`ws://127.0.0.1:${local.port}/live`, {
      headers: { host: `evil.example:${local.port}` },
      origin: `http://evil.example:${local.port}`,
    });
    ws.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
    ws.once('open', () => (resolve('open'), ws.close()));
    ws.once('error', () => {});
  });
  t.equal(rebound, 'status 403', 'on loopback, a non-loopback Host is refused');
  const page = await fetch(`http://127.0.0.1:${port}/`);
  t.equal(page.status, 200);
  t.match(await page.text(), /floe dashboard/);
  t.equal((await fetch(`http://127.0.0.1:${port}/web/..%2Fpackage.json`)).status, 404, "only floe's own files are served");
});
