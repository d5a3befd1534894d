// The dashboard's buttons in a real browser: stop with a savepoint, and a server that wants the REST token (as off loopback) until the page's token field has it.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { JobRegistry, startRestServer } from '../../src/server/rest-server.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { wordCountEnv } from '../fixtures/wordcount-job.ts';
import { openBrowser, type OpenBrowser } from '../helpers/browser.ts';

t.setTimeout(600_000);

let browser: OpenBrowser | undefined;
t.before(async () => {
  browser = await openBrowser();
});
t.teardown(() => browser?.close());

/** A word count slow enough to run until a button ends it. */
async function runningJob(t: Test, name: string) {
  // its own folder, removed once the job has ended (t.testdir's removal would race the sink still writing)
  const dir = mkdtempSync(join(tmpdir(), 'floe-dash-ops-'));
  writeFileSync(join(dir, 'in.txt'), generateText(400_000, { seed: 7, vocabulary: 300 }));
  mkdirSync(join(dir, 'sp'));
  const client = await wordCountEnv({
    input: join(dir, 'in.txt'),
    out: join(dir, 'out'),
    parallelism: 1,
    slowMs: 0.5,
    config: { 'execution.checkpointing.interval': '200ms' },
  }).executeAsync(name);
  t.teardown(async () => {
    await client.cancel().catch(() => {});
    await client.getJobExecutionResult().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
  const jobs = new JobRegistry();
  jobs.add(client);
  return { dir, client, jobs };
}

t.test('"Stop with savepoint": the job stops with a savepoint, listed with its path', async (t) => {
  const { dir, client, jobs } = await runningJob(t, 'stop me');
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [join(dir, 'sp')], savepointsDir: join(dir, 'sp') });
  t.teardown(() => app.close());
  const { page } = browser!;
  await page.goto(`http://127.0.0.1:${port}/#/job/running/${client.jobId}/checkpoints`);
  await page.getByTestId('checkpoint-counts').waitFor({ timeout: 60_000 });
  await page.getByTestId('stop-with-savepoint').click();
  const done = await page.getByTestId('savepoint-done').textContent({ timeout: 120_000 });
  const path = /savepoint completed: (.+)$/.exec(done ?? '')?.[1];
  t.ok(path?.startsWith(join(dir, 'sp')), `the savepoint lands in the default target: ${path}`);
  t.ok(existsSync(join(path!, '_metadata')), 'its _metadata is on disk');
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED', "stop ends the job as FINISHED (Flink's stop-with-savepoint)");
  const row = page.getByTestId('savepoint-row').filter({ hasText: 'stop with savepoint' });
  t.equal(await row.getByTestId('savepoint-path').textContent(), path, 'listed as a stop, with its path');
  await page
    .getByTestId('job-title')
    .filter({ hasText: /FINISHED/ })
    .waitFor({ timeout: 60_000 });
  t.same(browser!.foreign, []);
});

t.test("a stop target outside the allowed directories: the REST API's error on the page, the job runs on", async (t) => {
  const { dir, client, jobs } = await runningJob(t, 'stay');
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [join(dir, 'sp')], savepointsDir: join(dir, 'sp') });
  t.teardown(() => app.close());
  const { page } = browser!;
  await page.goto(`http://127.0.0.1:${port}/#/job/running/${client.jobId}/overview`);
  await page.locator('#target').fill(join(dir, 'elsewhere'));
  await page.getByTestId('stop-with-savepoint').click();
  t.match(await page.getByTestId('error').textContent({ timeout: 60_000 }), /allowed/i, 'refused: not an allowed directory');
  t.equal(client.getJobStatus(), 'RUNNING', 'the job runs on');
  t.notOk(existsSync(join(dir, 'elsewhere')), 'nothing written there');
});

t.test(
  'REST token (as off loopback): without it the page is refused live updates and operations; typed into the token field, both work',
  async (t) => {
    const { dir, client, jobs } = await runningJob(t, 'guarded');
    const { app, port } = await startRestServer(jobs, {
      port: 0,
      allowedDirs: [join(dir, 'sp')],
      savepointsDir: join(dir, 'sp'),
      authToken: 's3cret-token',
    });
    t.teardown(() => app.close());
    // a fresh tab: the token field is kept per tab (sessionStorage)
    const page = await browser!.context.newPage();
    t.teardown(() => page.close());
    await page.goto(`http://127.0.0.1:${port}/#/job/running/${client.jobId}/overview`);
    // reads need no token: the title comes from GET /jobs/:id
    await page
      .getByTestId('job-title')
      .filter({ hasText: /RUNNING/ })
      .waitFor({ timeout: 60_000 });
    await page
      .getByTestId('live')
      .filter({ hasText: /offline/ })
      .waitFor({ timeout: 60_000 });
    t.equal(await page.locator('tr[data-subtask]').count(), 0, 'no live task states without the token');
    await page.getByTestId('trigger-savepoint').click();
    t.match(
      await page.getByTestId('error').textContent({ timeout: 60_000 }),
      /needs the REST token/,
      'a savepoint without the token: 401, shown',
    );
    t.equal(client.getJobStatus(), 'RUNNING');

    await page.locator('#token').fill('wrong');
    await page.locator('#token').press('Tab');
    await page.evaluate(`document.getElementById('message').replaceChildren()`);
    await page.getByTestId('trigger-savepoint').click();
    await page
      .getByTestId('error')
      .filter({ hasText: /needs the REST token/ })
      .waitFor({ timeout: 60_000 });
    t.pass('a wrong token: refused as well');

    await page.locator('#token').fill('s3cret-token');
    await page.locator('#token').press('Tab');
    await page
      .getByTestId('live')
      .filter({ hasText: /^live$/ })
      .waitFor({ timeout: 60_000 });
    await page
      .getByTestId('task-state')
      .filter({ hasText: /^running\./ })
      .first()
      .waitFor({ timeout: 60_000 });
    t.pass('with the token: the live websocket opens, task states arrive');
    await page.getByTestId('trigger-savepoint').click();
    const done = await page.getByTestId('savepoint-done').textContent({ timeout: 120_000 });
    t.match(done, /savepoint completed: /, 'and the savepoint is taken');
    t.ok(existsSync(join(/savepoint completed: (.+)$/.exec(done!)![1]!, '_metadata')));
  },
);
