// `floe inspector` in a real browser: a plain xstate app reports with createWebSocketInspector and its actors show up, live.
import { spawn } from 'node:child_process';
import t from 'tap';
import { createWebSocketInspector } from '@statelyai/inspect';
import { assign, createActor, fromCallback, setup } from 'xstate';
import { CollectSink, StreamExecutionEnvironment } from '../../src/index.ts';
import WebSocket from 'ws';
import { bin, until } from '../helpers/floe-process.ts';
import { openBrowser } from '../helpers/browser.ts';
import { InspectionLog, startInspectorServer } from '../../src/web/inspector-server.ts';
import { main } from '../../src/cli/main.ts';

// @statelyai/inspect's adapter finds WebSocket on globalThis (Node 20 has none by default)
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

t.test('InspectionLog keeps every actor with its latest snapshot and a bounded event log', async (t) => {
  const log = new InspectionLog();
  log.add({ type: '@xstate.actor', sessionId: 'x:0', name: 'light', snapshot: { value: 'green' } });
  log.add({ type: '@xstate.snapshot', sessionId: 'x:0', snapshot: { value: 'yellow' } });
  for (let i = 0; i < 2500; i++) log.add({ type: '@xstate.event', sessionId: 'x:0', event: { type: `E${i}` } });
  log.add({ type: '@xstate.snapshot', sessionId: 'x:9', snapshot: { value: 'late' } });
  t.same(log.actors.get('x:0')?.snapshot, { value: 'yellow' });
  t.equal(log.actors.get('x:9')?.type, '@xstate.actor', 'a snapshot of an unregistered actor registers it');
  t.equal(log.events.length, 2000);
  t.same(log.events.at(-1)?.event, { type: 'E2499' });
  t.equal(log.replay()[0]?.sessionId, 'x:0');
});

t.test('floe inspector refuses a bad port and a busy one with a code and a hint', async (t) => {
  const lines: string[] = [];
  t.equal(await main(['node', 'floe', 'inspector', '--port', 'abc'], (l) => lines.push(l)), 2);
  t.match(lines.join('\n'), /error FLOE_USAGE: --port must be a port number/);
  const busy = await startInspectorServer({ port: 0 });
  t.teardown(() => busy.close());
  await t.rejects(startInspectorServer({ port: busy.port }), { code: 'FLOE_INSPECTOR_LISTEN_FAILED', hint: /--port/ });
});

t.test('a plain xstate app reporting to floe inspector appears with its state, context, children and events', async (t) => {
  const child = spawn(process.execPath, [bin, 'inspector', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGTERM'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  await until(() => /ws:\/\/127\.0\.0\.1:(\d+)/.test(out), 'the inspector to listen');
  const port = Number(/ws:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);

  const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
  t.teardown(() => inspector.stop());
  const ticker = fromCallback(() => () => {});
  const light = setup({ actors: { ticker } }).createMachine({
    id: 'light',
    initial: 'green',
    context: { changes: 0 },
    invoke: { src: 'ticker', id: 'ticker' },
    states: {
      green: { on: { NEXT: { target: 'yellow', actions: assign({ changes: ({ context }) => context.changes + 1 }) } } },
      yellow: { on: { NEXT: { target: 'red', actions: assign({ changes: ({ context }) => context.changes + 1 }) } } },
      red: { type: 'final' },
    },
  });
  const actor = createActor(light, { inspect: inspector.inspect });
  actor.start();

  const browser = await openBrowser();
  t.teardown(() => browser.close());
  const { page } = browser;
  await page.goto(`http://127.0.0.1:${port}/`);
  await page
    .getByTestId('connection')
    .filter({ hasText: /^connected$/ })
    .waitFor();
  const lightItem = page.locator('li[data-actor="light"]');
  await lightItem
    .locator(':scope > button [data-testid="actor-state"]')
    .filter({ hasText: /^green$/ })
    .waitFor();
  // the child actor is drawn under its parent
  await lightItem.locator('li[data-actor="ticker"]').waitFor();

  actor.send({ type: 'NEXT' });
  await lightItem
    .locator(':scope > button [data-testid="actor-state"]')
    .filter({ hasText: /^yellow$/ })
    .waitFor();
  await lightItem.locator(':scope > button').click();
  await page.getByTestId('detail-state').filter({ hasText: 'yellow' }).waitFor();
  t.match(await page.getByTestId('detail-context').textContent(), /"changes": 1/);
  await page.getByTestId('event').filter({ hasText: 'NEXT' }).first().waitFor();

  // a page opened later sees the same actors (replay), and nothing was loaded from another host
  await page.reload();
  await page
    .locator('li[data-actor="light"] [data-testid="actor-state"]')
    .filter({ hasText: /^yellow$/ })
    .first()
    .waitFor();
  t.same(browser.foreign, [], 'offline: every script and style came from the inspector');
  // a page of another site may not read the stream
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/viewer`, { origin: 'https://evil.example' });
    ws.on('close', (code) => resolve(code));
    ws.on('message', () => resolve(0));
    ws.on('error', () => {});
  });
  t.equal(refused, 1008, 'another origin cannot read the inspector stream');
  actor.stop();

  // a floe job (what `floe run --inspect=ws://...` sets up) reports its task actors to the same inspector
  const collected: number[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  env
    .fromSequence(1, 100)
    .uid('numbers')
    .map((n: number) => n * 2)
    .uid('double')
    .sinkTo(new CollectSink(collected))
    .uid('sink');
  env.setInspector(`ws://127.0.0.1:${port}`);
  const client = await env.executeAsync('inspected');
  await client.getJobExecutionResult();
  t.equal(collected.length, 100);
  await page
    .locator('li.actor [data-testid="actor-state"]')
    .filter({ hasText: /^finished$/ })
    .first()
    .waitFor();
  t.ok((await page.locator('li[data-actor*="Sequence Source"], li[data-actor*="Source"]').count()) > 0, 'the source task is in the tree');
});
