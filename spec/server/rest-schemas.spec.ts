// Every endpoint against the schemas floe promises (src/server/rest-schemas.ts), on a real server over a running job, and requests as Flink's clients send them.
import { join } from 'node:path';
import { Ajv } from 'ajv';
import t from 'tap';
import { ERROR_RESPONSE, RESPONSE_SCHEMAS, TRIGGER_RESPONSE } from '../../src/server/rest-schemas.ts';
import { JobRegistry, startRestServer } from '../../src/server/rest-server.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { wordCountEnv } from '../fixtures/wordcount-job.ts';

const ajv = new Ajv({ allErrors: true, strict: false });

t.test('every endpoint answers with its schema on a running job', async (t) => {
  const dir = t.testdir({ 'in.txt': generateText(60_000, { seed: 5, vocabulary: 800 }), sp: {}, chk: {} });
  const client = await wordCountEnv({
    input: join(dir, 'in.txt'),
    out: join(dir, 'out'),
    parallelism: 2,
    slowMs: 0.3,
    config: {
      'execution.checkpointing.unaligned': true,
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
      'state.backend.type': 'fs',
      'state.checkpoints.dir': join(dir, 'chk'),
    },
  }).executeAsync('schemas');
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [join(dir, 'sp')], savepointsDir: join(dir, 'sp') });
  t.teardown(async () => {
    await client.cancel().catch(() => {});
    await app.close();
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}${path}`, { method, body, headers });
    const text = await r.text();
    return { status: r.status, headers: r.headers, json: text ? JSON.parse(text) : undefined };
  };
  const valid = (schema: object, value: unknown, what: string) => {
    const ok = ajv.validate(schema, value);
    t.ok(
      ok,
      `${what} matches its schema`,
      ok ? {} : { errors: ajv.errorsText(ajv.errors, { separator: '\n' }), value: JSON.stringify(value).slice(0, 2000) },
    );
  };
  await new Promise<void>((r) => client.on('checkpoint-completed', () => r()));
  const id = client.jobId;

  // a savepoint, so the history holds one with its external path
  const trig = await call(
    'POST',
    `/jobs/${id}/savepoints`,
    JSON.stringify({ 'target-directory': join(dir, 'sp'), formatType: 'CANONICAL', 'cancel-job': false }),
    { 'content-type': 'application/json' },
  );
  t.equal(trig.status, 202);
  valid(TRIGGER_RESPONSE, trig.json, 'POST /jobs/:jobid/savepoints');
  let op;
  do op = await call('GET', `/jobs/${id}/savepoints/${trig.json['request-id']}`);
  while (op.json.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
  valid(RESPONSE_SCHEMAS['/jobs/:jobid/savepoints/:triggerid']!, op.json, 'GET /jobs/:jobid/savepoints/:triggerid');
  const savepointPath = op.json.operation.location as string;

  // the task loop's times reach the REST API: a sample with some busy time arrives (the slow stage works all the time)
  const details = (await call('GET', `/jobs/${id}`)).json;
  const vids: string[] = details.vertices.map((v: { id: string }) => v.id);
  let busySeen = false;
  for (let i = 0; i < 200 && !busySeen; i++) {
    for (const vid of vids) {
      const v = (await call('GET', `/jobs/${id}/vertices/${vid}`)).json;
      if (v.subtasks.some((s: { busyTimeMsPerSecond: number }) => s.busyTimeMsPerSecond > 0)) busySeen = true;
    }
    if (!busySeen) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(busySeen, 'some subtask reports busy time');

  const cps = (await call('GET', `/jobs/${id}/checkpoints`)).json;
  const cid = cps.history.find((h: { status: string }) => h.status === 'COMPLETED').id;
  const paths: Record<string, string> = {
    '/config': '/config',
    '/overview': '/overview',
    '/taskmanagers': '/taskmanagers',
    '/jobs': '/jobs',
    '/jobs/overview': '/jobs/overview',
    '/jobs/metrics': '/jobs/metrics',
    '/jobs/:jobid': `/jobs/${id}`,
    '/jobs/:jobid/status': `/jobs/${id}/status`,
    '/jobs/:jobid/plan': `/jobs/${id}/plan`,
    '/jobs/:jobid/config': `/jobs/${id}/config`,
    '/jobs/:jobid/exceptions': `/jobs/${id}/exceptions`,
    '/jobs/:jobid/execution-result': `/jobs/${id}/execution-result`,
    '/jobs/:jobid/vertices/:vertexid': `/jobs/${id}/vertices/${vids[0]}`,
    '/jobs/:jobid/vertices/:vertexid/backpressure': `/jobs/${id}/vertices/${vids[0]}/backpressure`,
    '/jobs/:jobid/vertices/:vertexid/watermarks': `/jobs/${id}/vertices/${vids[0]}/watermarks`,
    '/jobs/:jobid/vertices/:vertexid/subtasks/metrics': `/jobs/${id}/vertices/${vids[0]}/subtasks/metrics?get=busyTimeMsPerSecond,backPressuredTimeMsPerSecond,idleTimeMsPerSecond`,
    '/jobs/:jobid/checkpoints': `/jobs/${id}/checkpoints`,
    '/jobs/:jobid/checkpoints/config': `/jobs/${id}/checkpoints/config`,
    '/jobs/:jobid/checkpoints/details/:checkpointid': `/jobs/${id}/checkpoints/details/${cid}`,
    '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid': `/jobs/${id}/checkpoints/details/${cid}/subtasks/${vids[1]}`,
  };
  for (const [pattern, path] of Object.entries(paths)) {
    const r = await call('GET', path);
    t.equal(r.status, 200, `GET ${pattern}: 200`);
    valid(RESPONSE_SCHEMAS[pattern]!, r.json, `GET ${pattern}`);
  }
  // every vertex and its backpressure, each subtask's three times summing to a second
  for (const vid of vids) {
    valid(RESPONSE_SCHEMAS['/jobs/:jobid/vertices/:vertexid']!, (await call('GET', `/jobs/${id}/vertices/${vid}`)).json, `vertex ${vid}`);
    const bp = (await call('GET', `/jobs/${id}/vertices/${vid}/backpressure`)).json;
    valid(RESPONSE_SCHEMAS['/jobs/:jobid/vertices/:vertexid/backpressure']!, bp, `backpressure ${vid}`);
    for (const s of bp.subtasks) t.ok(Math.abs(s.ratio + s.idleRatio + s.busyRatio - 1) < 1e-9, 'ratios sum to 1');
  }

  // what the dashboard reads: the real settings, the savepoint's path, 32-hex vertex ids, upper-case states, per-vertex checkpoint tasks
  t.match((await call('GET', `/jobs/${id}/checkpoints/config`)).json, {
    unaligned_checkpoints: true,
    externalization: { enabled: true, delete_on_cancellation: false },
    checkpoint_storage: 'fs',
    state_backend: 'fs',
  });
  const after = (await call('GET', `/jobs/${id}/checkpoints`)).json;
  t.equal(after.latest.savepoint.external_path, savepointPath, 'the latest savepoint with its path');
  t.same(Object.keys(after.history[0].tasks).sort(), [...vids].sort(), 'per-vertex checkpoint tasks by vertex id');
  t.match(details, { isStoppable: true, state: 'RUNNING', vertices: vids.map(() => ({ status: 'RUNNING' })) });
  t.ok(
    details.plan.nodes.some((n: { operators: Array<{ uid: string }> }) => n.operators.some((o) => o.uid === 'count')),
    'operator uids in the plan',
  );
  t.equal(
    Object.values(details['status-counts'] as Record<string, number>).reduce((a, b) => a + b, 0),
    4,
    'status counts of all 4 subtasks',
  );

  // requests as Flink's clients send them
  const stopBody = JSON.stringify({ drain: false, formatType: 'CANONICAL', triggerId: 'ab'.repeat(16), targetDirectory: join(dir, 'sp') });
  t.equal((await call('GET', '/jobs/metrics')).status, 200, '/jobs/metrics is no job id');
  t.equal((await call('DELETE', `/jobs/${id}`)).status, 405, 'wrong method: 405');
  t.equal((await call('PUT', `/jobs/${id}/savepoints`)).headers.get('allow'), 'POST', '405 names the allowed method');
  t.equal((await call('PATCH', `/jobs/${id}?mode=bogus`)).status, 400, 'an unknown mode');
  // a stop with a client's trigger id: the id is the operation's, a retry starts nothing new
  const stop = await call('POST', `/jobs/${id}/stop`, stopBody, { 'content-type': 'application/json' });
  t.equal(stop.status, 202);
  t.equal(stop.json['request-id'], 'ab'.repeat(16), 'the client-chosen trigger id');
  t.equal(
    (await call('POST', `/jobs/${id}/stop`, stopBody, { 'content-type': 'application/json' })).json['request-id'],
    'ab'.repeat(16),
    'a retry: the same operation',
  );
  do op = await call('GET', `/jobs/${id}/savepoints/${'AB'.repeat(16)}`);
  while (op.json.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
  t.match(op.json.operation.location, join(dir, 'sp'));
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
  const ended = await call('GET', `/jobs/${id}/execution-result`);
  valid(RESPONSE_SCHEMAS['/jobs/:jobid/execution-result']!, ended.json, 'execution-result of an ended job');
  t.match(ended.json, { status: { id: 'COMPLETED' }, 'job-execution-result': { 'application-status': 'SUCCEEDED' } });
  valid(RESPONSE_SCHEMAS['/jobs/:jobid']!, (await call('GET', `/jobs/${id}`)).json, 'details of an ended job');
  t.match((await call('GET', `/jobs/${id}`)).json, { state: 'FINISHED', isStoppable: false });

  // disposal of the first savepoint, inside the allowed directories
  const dispose = await call('POST', '/savepoint-disposal', JSON.stringify({ 'savepoint-path': savepointPath }), {
    'content-type': 'application/json',
  });
  t.equal(dispose.status, 202);
  do op = await call('GET', `/savepoint-disposal/${dispose.json['request-id']}`);
  while (op.json.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
  valid(RESPONSE_SCHEMAS['/savepoint-disposal/:triggerid']!, op.json, 'GET /savepoint-disposal/:triggerid');
  t.same(op.json, { status: { id: 'COMPLETED' }, operation: {} });

  // errors keep one shape
  for (const [method, path] of [
    ['GET', '/jobs/nope'],
    ['GET', `/jobs/${id}/vertices/nope`],
    ['GET', `/jobs/${id}/checkpoints/details/x`],
    ['DELETE', '/overview'],
    ['GET', '/nowhere'],
  ]) {
    valid(ERROR_RESPONSE, (await call(method!, path!)).json, `error of ${method} ${path}`);
  }
});

t.test('PATCH ?mode= in any case, STOP too; a POST with no body is {}', async (t) => {
  const dir = t.testdir({ 'in.txt': generateText(40_000, { seed: 6 }), sp: {} });
  const start = () =>
    wordCountEnv({ input: join(dir, 'in.txt'), out: join(dir, `out-${Math.random()}`), parallelism: 1, slowMs: 0.3 }).executeAsync('modes');
  const a = await start();
  const b = await start();
  const c = await start();
  const jobs = new JobRegistry();
  for (const x of [a, b, c]) jobs.add(x);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [join(dir, 'sp')], savepointsDir: join(dir, 'sp') });
  t.teardown(async () => {
    for (const x of [a, b, c]) await x.cancel().catch(() => {});
    await app.close();
  });
  const base = `http://127.0.0.1:${port}`;
  t.equal((await fetch(`${base}/jobs/${a.jobId}?mode=CANCEL`, { method: 'PATCH' })).status, 202, 'CANCEL');
  t.equal((await a.getJobExecutionResult()).status, 'CANCELED');
  await new Promise<void>((r) => b.on('checkpoint-completed', () => r()));
  const stop = await fetch(`${base}/jobs/${b.jobId}?mode=Stop`, { method: 'PATCH' });
  t.equal(stop.status, 202, 'Stop: a stop with a savepoint into state.savepoints.dir');
  t.match(await stop.json(), { 'request-id': /^[0-9a-f]{32}$/ });
  t.equal((await b.getJobExecutionResult()).status, 'FINISHED');
  // no body and no content type, then an empty JSON body: both {}
  await new Promise<void>((r) => c.on('checkpoint-completed', () => r()));
  const bare = await fetch(`${base}/jobs/${c.jobId}/savepoints`, { method: 'POST' });
  t.equal(bare.status, 202, 'POST without a body');
  const empty = await fetch(`${base}/jobs/${c.jobId}/savepoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '',
  });
  t.equal(empty.status, 202, 'POST with an empty JSON body');
  // both savepoints complete before the directory goes
  for (const r of [bare, empty]) {
    const requestId = ((await r.json()) as { 'request-id': string })['request-id'];
    let op: { status: { id: string }; operation?: { location?: string } };
    do op = (await (await fetch(`${base}/jobs/${c.jobId}/savepoints/${requestId}`)).json()) as typeof op;
    while (op.status.id === 'IN_PROGRESS' && (await new Promise((r) => setTimeout(r, 20)), true));
    t.match(op.operation?.location, join(dir, 'sp'), 'written to the default target');
  }
  t.equal((await c.cancel()).status, 'CANCELED');
});

t.test('a failing job: restarts and the final failure in the exception history, newest first; a FAILED result', async (t) => {
  const { CollectSink, StreamExecutionEnvironment } = await import('../../src/index.ts');
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 2,
    'restart-strategy.fixed-delay.delay': '10ms',
  });
  let attempt = 0;
  env
    .fromSequence(1, 1_000_000)
    .uid('numbers')
    .map((n: number) => {
      if (n === 1000) throw new Error(`boom ${++attempt}`);
      return n;
    })
    .uid('boom')
    .sinkTo(new CollectSink<number>([]))
    .uid('sink');
  const client = await env.executeAsync('failing');
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [t.testdirName] });
  t.teardown(() => app.close());
  await client.getJobExecutionResult().catch(() => {});
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).json();
  const ex = await get(`/jobs/${client.jobId}/exceptions`);
  t.ok(ajv.validate(RESPONSE_SCHEMAS['/jobs/:jobid/exceptions']!, ex), ajv.errorsText(ajv.errors));
  const entries = ex.exceptionHistory.entries as Array<{ stacktrace: string; taskName: string | null; timestamp: number }>;
  t.ok(entries.length >= 3, `the first failure and both restarts' failures: ${entries.length}`);
  t.match(entries[0]!.stacktrace, /boom 3/, 'newest first');
  t.ok(
    entries.some((e) => e.taskName && /Map/.test(e.taskName)),
    "with the failing task's name",
  );
  t.ok(
    entries.every((e, i) => i === 0 || entries[i - 1]!.timestamp >= e.timestamp),
    'ordered by time, newest first',
  );
  t.match(ex['root-exception'], /boom 3/);
  const result = await get(`/jobs/${client.jobId}/execution-result`);
  t.ok(ajv.validate(RESPONSE_SCHEMAS['/jobs/:jobid/execution-result']!, result), ajv.errorsText(ajv.errors));
  t.match(result, {
    status: { id: 'COMPLETED' },
    'job-execution-result': { 'application-status': 'FAILED', 'failure-cause': { class: String } },
  });
  t.match(await get(`/jobs/${client.jobId}`), { state: 'FAILED', timestamps: { RESTARTING: Number, FAILED: Number } });
});

t.test('a slow downstream vertex: its source reports backpressure, the slow vertex busy time', async (t) => {
  const { CollectSink, StreamExecutionEnvironment } = await import('../../src/index.ts');
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    'taskmanager.network.batch-size': 16,
    'taskmanager.network.memory.buffers-per-channel': 2,
  });
  // a cheap fan-out chained to the source fills its output faster than the slow map drains it
  env
    .fromSequence(1, 50_000_000)
    .uid('numbers')
    .flatMap((n: number) => Array.from({ length: 100 }, (_, i) => n * 100 + i))
    .uid('fan-out')
    .keyBy((n: number) => n % 7)
    .map((n: number) => {
      const until = performance.now() + 0.05;
      while (performance.now() < until);
      return n;
    })
    .uid('slow')
    .sinkTo(new CollectSink<number>([]))
    .uid('sink');
  const client = await env.executeAsync('backpressured');
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { port: 0, allowedDirs: [t.testdirName] });
  t.teardown(async () => {
    await client.cancel().catch(() => {});
    await app.close();
  });
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).json();
  const [source, slow] = ((await get(`/jobs/${client.jobId}`)).vertices as Array<{ id: string }>).map((v) => v.id);
  // samples come once a second: poll until both show (generous: a loaded machine)
  let bp: { backpressureLevel: string; subtasks: Array<{ ratio: number }> } | undefined;
  let busy = 0;
  for (let i = 0; i < 300; i++) {
    bp = await get(`/jobs/${client.jobId}/vertices/${source}/backpressure`);
    busy = (await get(`/jobs/${client.jobId}/vertices/${slow}`)).subtasks[0].busyTimeMsPerSecond;
    if (bp!.subtasks[0]!.ratio > 0.5 && busy > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(bp!.subtasks[0]!.ratio > 0.5, `the source waits for credit most of the time: ratio ${bp!.subtasks[0]!.ratio}`);
  t.equal(bp!.backpressureLevel, 'high');
  t.ok(busy > 0, `the slow vertex is busy: ${busy} ms/s`);
  // what Flink's dashboard colours the graph by: the max over subtasks
  const agg = await get(`/jobs/${client.jobId}/vertices/${source}/subtasks/metrics?get=backPressuredTimeMsPerSecond,nonsense`);
  t.match(agg, [{ id: 'backPressuredTimeMsPerSecond', max: Number }]);
  t.equal(agg.length, 1, 'unknown metric names are left out');
  t.equal((await client.cancel()).status, 'CANCELED');
});
