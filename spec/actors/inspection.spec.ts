// Inspection of task actors: every task is seen by the name people read, alignment is visible, data does not flood, the websocket route delivers.
import t from 'tap';
import { WebSocketServer } from 'ws';
import type { AnyActorRef, InspectionEvent } from 'xstate';
import { CollectSink, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';

interface Seen {
  /** task actor id -> inspection events about it */
  byActor: Map<string, InspectionEvent[]>;
  all: InspectionEvent[];
}

/** Sum of keys 0..n-1 per key class, as the reduce below must end with. */
function expectedSums(n: number, keys: number): Map<number, number> {
  const sums = new Map<number, number>();
  for (let i = 1; i <= n; i++) sums.set(i % keys, (sums.get(i % keys) ?? 0) + i);
  return sums;
}

/** Sources at parallelism 2 feed a keyed reduce at parallelism 2: every reduce task has two input channels to align. */
function buildJob(
  n: number,
  options: {
    checkpointMs?: number;
    inspect: Parameters<StreamExecutionEnvironment['setInspector']>[0];
    onConnected?: (url: string) => void;
  },
) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 2,
    ...(options.checkpointMs ? { 'execution.checkpointing.interval': options.checkpointMs } : {}),
  });
  env.setInspector(options.inspect, { onConnected: options.onConnected });
  const results: Array<[number, number]> = [];
  env
    .fromSequence(1, n)
    .uid('source')
    .map((i: number) => [i % 7, i] as [number, number])
    .uid('tag')
    .keyBy((p) => p[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('sum')
    .sinkTo(new CollectSink(results))
    .uid('sink');
  return { env, results };
}

/** The last emitted sum per key: the final state of the reduce. */
function finalSums(results: Array<[number, number]>): Map<number, number> {
  const last = new Map<number, number>();
  for (const [k, v] of results) last.set(k, Math.max(last.get(k) ?? 0, v));
  return last;
}

async function runInspected(
  n: number,
  checkpointMs?: number,
): Promise<{ seen: Seen; client: JobClient; results: Array<[number, number]> }> {
  const seen: Seen = { byActor: new Map(), all: [] };
  const { env, results } = buildJob(n, {
    checkpointMs,
    inspect: (event) => {
      seen.all.push(event);
      const id = (event.actorRef as AnyActorRef).id;
      let list = seen.byActor.get(id);
      if (!list) seen.byActor.set(id, (list = []));
      list.push(event);
    },
  });
  const client = await env.executeAsync('inspected');
  await client.getJobExecutionResult();
  return { seen, client, results };
}

const taskIds = (client: JobClient) => client.master.execution!.tasks.map((task) => task.actor.id);

/** Flink's task names: chained operators joined by ' -> ', then (subtask/parallelism). */
const READABLE = ['Reduce -> Collect (1/2)', 'Reduce -> Collect (2/2)', 'Sequence Source -> Map (1/2)', 'Sequence Source -> Map (2/2)'];

const stateOf = (e: InspectionEvent) =>
  e.type === '@xstate.snapshot' ? JSON.stringify((e.snapshot as { value?: unknown }).value) : undefined;

t.test('the inspector sees every task actor, its lifecycle and its alignment', async (t) => {
  const n = 200_000;
  const { seen, client, results } = await runInspected(n, 10);
  t.same(finalSums(results), expectedSums(n, 7), 'the inspected job still computes the exact result');
  const ids = taskIds(client);
  t.equal(ids.length, 4, 'two source tasks, two reduce tasks');
  t.same([...seen.byActor.keys()].filter((id) => ids.includes(id)).sort(), READABLE, 'each task actor is named as people read it');
  for (const id of ids) {
    const events = seen.byActor.get(id) ?? [];
    t.ok(
      events.some((e) => e.type === '@xstate.actor'),
      `${id}: registered (actor event)`,
    );
    const states = new Set(events.map(stateOf).filter(Boolean));
    t.ok(states.has('{"running":"processing"}'), `${id}: seen running`);
    t.ok(states.has('"finished"'), `${id}: seen finished`);
    t.ok(states.has('{"running":"snapshotting"}') || states.has('"finishing"'), `${id}: seen taking a snapshot`);
  }
  const reducers = client.master.execution!.tasks.filter((task) => task.gate.channels.length === 2).map((task) => task.actor.id);
  t.equal(reducers.length, 2);
  const aligning = reducers.filter((id) => (seen.byActor.get(id) ?? []).some((e) => stateOf(e) === '{"running":"aligning"}'));
  t.ok(aligning.length > 0, 'running.aligning is seen on a task with two inputs during a checkpoint');
  t.ok(
    seen.all.every((e) => e.type === '@xstate.actor' || e.type === '@xstate.event' || e.type === '@xstate.snapshot'),
    'microsteps and actions are filtered out',
  );

  // bounded: lifecycle (~10), a handful per checkpoint, a metrics sample per second — never per batch
  const result = await client.getJobExecutionResult();
  const triggered = result.checkpoints.completed + result.checkpoints.failed;
  const seconds = Math.ceil(result.durationMs / 1000);
  for (const id of ids) {
    const count = seen.byActor.get(id)!.length;
    t.ok(count <= 30 + 10 * (triggered + 1) + 4 * seconds, `${id}: ${count} events for ${triggered} checkpoints in ${seconds} s`);
  }
});

t.test('data batches do not flood the inspector: ten times the data, about the same events', async (t) => {
  // no checkpoints: what remains is lifecycle plus once-a-second metrics, whatever the volume
  const small = await runInspected(20_000);
  const large = await runInspected(400_000);
  t.same(finalSums(large.results), expectedSums(400_000, 7));
  const seconds = Math.ceil((await large.client.getJobExecutionResult()).durationMs / 1000);
  const smallIds = taskIds(small.client);
  const largeIds = taskIds(large.client);
  for (let i = 0; i < largeIds.length; i++) {
    const few = small.seen.byActor.get(smallIds[i]!)!.length;
    const many = large.seen.byActor.get(largeIds[i]!)!.length;
    // each batch of 512 records would be ~390 events per task here; metrics add at most 2 events a second
    t.ok(many <= few + 4 * seconds + 4, `${largeIds[i]}: ${few} events for 20k records, ${many} for 400k (${seconds} s)`);
  }
});

t.test('setInspector(ws://...) streams the events to a websocket inspector', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const received: Array<{ type: string; sessionId: string; name?: string; snapshot?: { value?: unknown } }> = [];
  const closed = new Promise<void>((resolve) =>
    server.on('connection', (socket) => {
      socket.on('message', (data) => received.push(JSON.parse(String(data))));
      socket.on('close', () => resolve());
    }),
  );
  const connected: string[] = [];
  const { env, results } = buildJob(50_000, {
    checkpointMs: 10,
    inspect: `ws://127.0.0.1:${port}`,
    onConnected: (url) => connected.push(url),
  });
  const client = await env.executeAsync('inspected over ws');
  await client.getJobExecutionResult();
  await closed; // the client closes after delivering what it buffered
  t.same(finalSums(results), expectedSums(50_000, 7));

  const ids = taskIds(client);
  const names = new Map(received.filter((e) => e.type === '@xstate.actor').map((e) => [e.sessionId, e.name]));
  for (const id of ids) t.ok([...names.values()].includes(id), `${id}: registered with the inspector`);
  t.same(
    [...names.values()].filter((name) => READABLE.includes(name!)).sort(),
    READABLE,
    'the inspector displays each task by its readable name',
  );
  t.same(connected, [`ws://127.0.0.1:${port}`], 'the connection is reported once');
  const finished = received
    .filter((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'finished')
    .map((e) => names.get(e.sessionId));
  t.same(
    new Set(finished.filter((name) => ids.includes(name!))),
    new Set(ids),
    'the last state of every task arrives before the connection closes',
  );
  t.ok(
    received.some((e) => e.type === '@xstate.event'),
    'events arrive too',
  );
});

t.test('an unreachable inspector neither fails the job nor keeps the process alive', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve())); // a port nobody listens on now
  const warnings: Array<Error & { code?: string }> = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const { env, results } = buildJob(10_000, { inspect: `ws://127.0.0.1:${port}` });
  const result = await env.execute('uninspected');
  t.equal(result.status, 'FINISHED');
  t.same(finalSums(results), expectedSums(10_000, 7));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(
    warnings.some((w) => w.code === 'FLOE_INSPECTOR_UNREACHABLE'),
    'one warning says the inspector cannot be reached',
  );
});
