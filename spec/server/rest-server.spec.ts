// The REST API with fastify inject: operations, validation, allowed dirs (symlinks resolved), body limit, token off loopback, CORS.
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Savepoint } from '../../src/savepoints/savepoint.ts';
import { createRestServer, isLoopback, JobRegistry } from '../../src/server/rest-server.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { wordCountEnv } from '../fixtures/wordcount-job.ts';

t.test('REST API over a running job', async (t) => {
  const dir = t.testdir({ 'in.txt': generateText(40_000, { seed: 3, vocabulary: 800 }), sp: {} });
  const client = await wordCountEnv({ input: join(dir, 'in.txt'), out: join(dir, 'out'), parallelism: 2, slowMs: 0.3 }).executeAsync(
    'rest wc',
  );
  const jobs = new JobRegistry();
  jobs.add(client);
  const app = createRestServer(jobs, { allowedDirs: [join(dir, 'sp')], savepointsDir: join(dir, 'sp'), bodyLimit: 1024 });
  t.teardown(() => app.close());
  await new Promise<void>((r) => client.on('checkpoint-completed', () => r()));
  const id = client.jobId;

  const list = await app.inject({ method: 'GET', url: '/jobs' });
  t.equal(list.statusCode, 200);
  t.match(list.json(), { jobs: [{ id, status: 'RUNNING' }] });
  t.match((await app.inject({ method: 'GET', url: '/jobs/overview' })).json(), { jobs: [{ jid: id, state: 'RUNNING', name: 'rest wc' }] });
  const details = (await app.inject({ method: 'GET', url: `/jobs/${id}` })).json();
  t.match(details, { jid: id, state: 'RUNNING', 'end-time': -1 });
  t.ok(details.vertices.length >= 2 && details.plan.nodes[0].operators.some((o: { uid: string }) => o.uid === 'source'));
  t.equal((await app.inject({ method: 'GET', url: '/jobs/nope' })).statusCode, 404, 'unknown job: 404');
  t.equal((await app.inject({ method: 'GET', url: '/jobs/nope' })).json().code, 'FLOE_JOB_NOT_FOUND');

  const cps = (await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints` })).json();
  t.ok(cps.counts.completed >= 1);
  const done = cps.history.find((h: { status: string }) => h.status === 'COMPLETED');
  const perSubtask = (
    await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints/details/${done.id}/subtasks/${details.vertices[1].id}` })
  ).json();
  t.ok(perSubtask.subtasks.length === 2 && 'duration' in perSubtask.subtasks[0].alignment, 'per-subtask alignment');
  t.match((await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints/details/${done.id}` })).json(), {
    id: done.id,
    status: 'COMPLETED',
  });
  t.equal(
    (await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints/details/${done.id}/subtasks/nope` })).statusCode,
    404,
    'unknown vertex',
  );
  t.equal((await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints/details/99999` })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints/details/abc` })).statusCode, 400);
  t.match((await app.inject({ method: 'GET', url: `/jobs/${id}/checkpoints/config` })).json(), {
    mode: 'exactly_once',
    interval: 40,
    state_backend: 'memory',
  });

  // bad requests
  const post = (url: string, payload: string) =>
    app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
  t.equal((await post(`/jobs/${id}/savepoints`, '{"target-directory": ')).statusCode, 400, 'malformed JSON');
  t.equal((await post(`/jobs/${id}/savepoints`, '{"target-directory": 5}')).statusCode, 400, 'wrong type');
  t.equal((await post(`/jobs/${id}/savepoints`, '{"unknown": true}')).statusCode, 400, 'unknown field');
  const outside = await post(`/jobs/${id}/savepoints`, JSON.stringify({ 'target-directory': '/tmp/elsewhere' }));
  t.equal(outside.statusCode, 403);
  t.equal(outside.json().code, 'FLOE_REST_TARGET_NOT_ALLOWED');
  // a symlink inside the allowed directory that points out of it: judged where it really leads
  mkdirSync(join(dir, 'elsewhere'));
  symlinkSync(join(dir, 'elsewhere'), join(dir, 'sp', 'link'));
  for (const escape of [join(dir, 'sp', 'link'), join(dir, 'sp', 'link', 'deeper', 'new')]) {
    const r = await post(`/jobs/${id}/savepoints`, JSON.stringify({ 'target-directory': escape }));
    t.equal(r.statusCode, 403, `symlink escape ${escape}`);
    t.equal(r.json().code, 'FLOE_REST_TARGET_NOT_ALLOWED');
  }
  t.equal((await post(`/jobs/${id}/stop`, JSON.stringify({ targetDirectory: join(dir, 'sp', 'link') }))).statusCode, 403, 'stop too');
  t.equal(
    (await post('/savepoint-disposal', JSON.stringify({ 'savepoint-path': join(dir, 'sp', 'link') }))).statusCode,
    403,
    'disposal too',
  );
  t.same(readdirSync(join(dir, 'elsewhere')), [], 'nothing written outside');
  t.equal(client.getJobStatus(), 'RUNNING', 'a refused stop does nothing');
  t.equal((await post(`/jobs/${id}/savepoints`, JSON.stringify({ triggerId: 'not-hex' }))).statusCode, 400, 'a malformed trigger id');
  t.equal((await post(`/jobs/${id}/savepoints`, JSON.stringify({ formatType: 'JSON' }))).statusCode, 400, 'an unknown format type');
  t.equal((await post('/savepoint-disposal', '{}')).statusCode, 400, 'disposal needs a path');
  const text = await app.inject({ method: 'POST', url: `/jobs/${id}/stop`, payload: 'drain', headers: { 'content-type': 'text/plain' } });
  t.equal(text.statusCode, 415, 'not JSON');
  t.equal(text.json().code, 'FLOE_REST_UNSUPPORTED_MEDIA_TYPE');
  // unknown ids and wrong methods
  t.equal((await app.inject({ method: 'GET', url: `/jobs/${id}/vertices/nope` })).json().code, 'FLOE_REST_VERTEX_NOT_FOUND');
  const wrong = await app.inject({ method: 'POST', url: `/jobs/${id}/checkpoints` });
  t.equal(wrong.statusCode, 405);
  t.equal(wrong.json().code, 'FLOE_REST_METHOD_NOT_ALLOWED');
  const big = await post(`/jobs/${id}/savepoints`, JSON.stringify({ 'target-directory': 'x'.repeat(5000) }));
  t.equal(big.statusCode, 413, 'body over the limit');
  t.equal(big.json().code, 'FLOE_REST_BODY_TOO_LARGE');
  t.equal((await post(`/jobs/nope/savepoints`, '{}')).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: `/jobs/${id}/savepoints/nope` })).statusCode, 404);

  // trigger, poll, completed
  const trig = await post(`/jobs/${id}/savepoints`, JSON.stringify({ 'target-directory': join(dir, 'sp', 'a') }));
  t.equal(trig.statusCode, 202);
  const requestId = trig.json()['request-id'];
  let state;
  do state = (await app.inject({ method: 'GET', url: `/jobs/${id}/savepoints/${requestId}` })).json();
  while (state.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
  t.ok(existsSync(join(state.operation.location, '_metadata')), 'savepoint written where the request said');
  t.equal(client.getJobStatus(), 'RUNNING');

  // stop --drain: default target, sources end, sinks commit everything read, job ends FINISHED
  const stop = await post(`/jobs/${id}/stop`, '{"drain": true}');
  t.equal(stop.statusCode, 202);
  do state = (await app.inject({ method: 'GET', url: `/jobs/${id}/savepoints/${stop.json()['request-id']}` })).json();
  while (state.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
  t.match(state.operation.location, join(dir, 'sp'));
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
  t.equal((await Savepoint.load(state.operation.location)).metadata.drained, true, 'a drained savepoint');
  t.same(
    readdirSync(join(dir, 'out')).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
    [],
    'the sinks committed everything',
  );
  t.match((await app.inject({ method: 'GET', url: `/jobs/${id}` })).json(), { state: 'FINISHED' });
  // a savepoint of an ended job fails with a cause
  const late = await post(`/jobs/${id}/savepoints`, '{}');
  do state = (await app.inject({ method: 'GET', url: `/jobs/${id}/savepoints/${late.json()['request-id']}` })).json();
  while (state.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
  t.match(state.operation['failure-cause'], { code: 'FLOE_JOB_NOT_RUNNING' });
});

t.test('off loopback: a token is required for mutating requests, not for reads', async (t) => {
  t.ok(isLoopback('127.0.0.1') && isLoopback('::1') && !isLoopback('0.0.0.0'));
  t.throws(() => createRestServer(new JobRegistry(), { address: '0.0.0.0', allowedDirs: ['/tmp'] }), { code: 'FLOE_REST_TOKEN_REQUIRED' });
  const dir = t.testdir({ 'in.txt': generateText(20_000, { seed: 4 }) });
  const client = await wordCountEnv({ input: join(dir, 'in.txt'), out: join(dir, 'out'), parallelism: 1, slowMs: 0.2 }).executeAsync('tok');
  const jobs = new JobRegistry();
  jobs.add(client);
  const app = createRestServer(jobs, { address: '0.0.0.0', authToken: 's3cret', allowedDirs: [dir] });
  t.teardown(() => app.close());
  t.equal((await app.inject({ method: 'GET', url: '/jobs' })).statusCode, 200);
  const denied = await app.inject({ method: 'PATCH', url: `/jobs/${client.jobId}?mode=cancel` });
  t.equal(denied.statusCode, 401);
  t.equal(denied.json().code, 'FLOE_REST_UNAUTHORIZED');
  t.equal(client.getJobStatus(), 'RUNNING', 'an unauthorised cancel does nothing');
  const wrong = await app.inject({ method: 'PATCH', url: `/jobs/${client.jobId}?mode=cancel`, headers: { authorization: 'Bearer nope' } });
  t.equal(wrong.statusCode, 401);
  const ok = await app.inject({ method: 'PATCH', url: `/jobs/${client.jobId}?mode=cancel`, headers: { authorization: 'Bearer s3cret' } });
  t.equal(ok.statusCode, 202);
  t.equal((await client.getJobExecutionResult()).status, 'CANCELED');
});

t.test('CORS: no headers unless rest.cors.allowed-origins names the origin; mutating requests from other origins refused', async (t) => {
  const dir = t.testdir({ 'in.txt': generateText(20_000, { seed: 7 }) });
  const client = await wordCountEnv({ input: join(dir, 'in.txt'), out: join(dir, 'out'), parallelism: 1, slowMs: 0.2 }).executeAsync(
    'cors',
  );
  const jobs = new JobRegistry();
  jobs.add(client);
  const closed = createRestServer(jobs, { allowedDirs: [dir] });
  const open = createRestServer(jobs, { allowedDirs: [dir], corsAllowedOrigins: ['http://ui.example'] });
  t.teardown(async () => {
    await closed.close();
    await open.close();
  });
  const evil = { origin: 'http://evil.example', host: '127.0.0.1:8081' };
  const read = await closed.inject({ method: 'GET', url: '/jobs/overview', headers: evil });
  t.equal(read.statusCode, 200);
  t.equal(read.headers['access-control-allow-origin'], undefined, 'no CORS header by default');
  const preflight = await closed.inject({
    method: 'OPTIONS',
    url: `/jobs/${client.jobId}`,
    headers: { ...evil, 'access-control-request-method': 'PATCH' },
  });
  t.equal(preflight.headers['access-control-allow-origin'], undefined, 'no preflight answer by default');
  // a bodiless POST needs no preflight: the origin check refuses it
  const csrf = await closed.inject({ method: 'POST', url: `/jobs/${client.jobId}/stop`, headers: evil });
  t.equal(csrf.statusCode, 403);
  t.equal(csrf.json().code, 'FLOE_REST_ORIGIN_NOT_ALLOWED');
  t.equal(client.getJobStatus(), 'RUNNING');
  // the dashboard's own origin (same host) is no foreign origin
  const own = await closed.inject({
    method: 'PATCH',
    url: `/jobs/${client.jobId}?mode=bogus`,
    headers: { origin: 'http://127.0.0.1:8081', host: '127.0.0.1:8081' },
  });
  t.equal(own.statusCode, 400, 'same origin: passes the origin check (then the bad mode is refused)');
  const allowed = await open.inject({
    method: 'GET',
    url: '/jobs/overview',
    headers: { origin: 'http://ui.example', host: '127.0.0.1:8081' },
  });
  t.equal(allowed.headers['access-control-allow-origin'], 'http://ui.example');
  const pre = await open.inject({
    method: 'OPTIONS',
    url: `/jobs/${client.jobId}`,
    headers: { origin: 'http://ui.example', host: '127.0.0.1:8081' },
  });
  t.equal(pre.statusCode, 204);
  t.match(pre.headers['access-control-allow-methods'], /PATCH/);
  t.equal(
    (await open.inject({ method: 'GET', url: '/jobs/overview', headers: evil })).headers['access-control-allow-origin'],
    undefined,
    'other origins still get none',
  );
  // DNS rebinding: evil.example resolving to 127.0.0.1 is its own origin, but no loopback host
  const rebound = await closed.inject({ method: 'GET', url: '/jobs/overview', headers: { host: 'evil.example:8081' } });
  t.equal(rebound.statusCode, 403);
  t.equal(rebound.json().code, 'FLOE_REST_HOST_NOT_ALLOWED');
  for (const host of ['127.0.0.1:8081', 'localhost:8081', '[::1]:8081', 'localhost'])
    t.equal((await closed.inject({ method: 'GET', url: '/jobs/overview', headers: { host } })).statusCode, 200, `host ${host}`);
  t.equal((await client.cancel()).status, 'CANCELED');
});
