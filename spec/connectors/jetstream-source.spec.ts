// JetStreamSource against a real nats-server: bounded reads, subject splits and subject partitions over subtasks, start positions, deserializer errors, rescale through a savepoint, a server that is down.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AckPolicy, connect } from 'nats';
import {
  CollectSink,
  JetStreamSource,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type JobClient,
} from '../../src/index.ts';
import { publishLines } from '../fixtures/jetstream-data.ts';
import { NatsServer, natsServerAvailable } from '../helpers/nats-server.ts';
import { freePort } from '../helpers/free-port.ts';

if (!natsServerAvailable()) {
  t.plan(0, 'skipped: nats-server is not installed (apt-get install -y nats-server)');
  process.exit(0);
}

const nats = await NatsServer.start();
t.teardown(() => nats.destroy());
const LINES = Array.from({ length: 4000 }, (_, i) => `line ${i}`);
await publishLines(nats.url, 'src', LINES, { subjects: 4 });

const resultOf = (client: JobClient) =>
  client.getJobExecutionResult().catch((error: { result?: Awaited<ReturnType<JobClient['getJobExecutionResult']>> }) => {
    if (!error.result) throw error;
    return error.result;
  });

async function collect<T>(source: JetStreamSource<T>, parallelism: number, config: Record<string, unknown> = {}) {
  const out: T[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': parallelism, ...config });
  env.fromSource(source).uid('source').sinkTo(new CollectSink(out)).uid('sink');
  const result = await resultOf(await env.executeAsync('read'));
  return { out, result };
}

t.test('bounded, whole stream, one subtask: every message once, in stream order, as UTF-8 text', async (t) => {
  const { out, result } = await collect(new JetStreamSource({ servers: nats.url, stream: 'src', bounded: true }), 1);
  t.equal(result.status, 'FINISHED');
  t.same(out, LINES);
});

t.test('bounded, four subject splits over three subtasks, with a deserializer seeing subject, sequence and timestamp', async (t) => {
  const source = new JetStreamSource({
    servers: nats.url,
    stream: 'src',
    subjects: ['src.0', 'src.1', 'src.2', 'src.3'],
    bounded: true,
    deserializer: (data, info) => ({ text: new TextDecoder().decode(data), ...info }),
  });
  const { out } = await collect(source, 3);
  t.same(out.map((r) => r.text).sort(), [...LINES].sort(), 'every message once');
  const first = out.find((r) => r.sequence === 1)!;
  t.same([first.text, first.subject], ['line 0', 'src.0']);
  t.ok(Math.abs(first.timestamp - Date.now()) < 3_600_000, 'the timestamp is the server time in ms since the epoch');
});

t.test(
  'fromSource with a strategy: two subjects in ONE subtask, one far ahead in event time: watermarks per subject, no record late',
  async (t) => {
    // ev.fast is a minute ahead of ev.slow in event time; both are read by one subtask, fast first
    const nc = await connect({ servers: nats.url });
    const events: Array<{ subject: string; ts: number }> = [];
    for (let i = 0; i < 200; i++) events.push({ subject: 'ev.fast', ts: 60_000 + i * 300 });
    for (let i = 0; i < 60; i++) events.push({ subject: 'ev.slow', ts: i * 1000 });
    try {
      await (await nc.jetstreamManager()).streams.add({ name: 'ev', subjects: ['ev.>'] });
      const js = nc.jetstream();
      await Promise.all(events.map((e) => js.publish(e.subject, JSON.stringify({ ts: e.ts }))));
    } finally {
      await nc.close();
    }
    const source = new JetStreamSource({
      servers: nats.url,
      stream: 'ev',
      subjects: ['ev.fast', 'ev.slow'],
      bounded: true,
      deserializer: (data, info) => ({ subject: info.subject, ts: (JSON.parse(new TextDecoder().decode(data)) as { ts: number }).ts }),
    });
    // small polls: the subjects' records interleave over many polls, with periodic watermarks between them
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'pipeline.auto-watermark-interval': 1,
      'taskmanager.network.batch-size': 8,
    });
    const out: string[] = [];
    env
      .fromSource(
        source,
        WatermarkStrategy.forBoundedOutOfOrderness<{ subject: string; ts: number }>('2s').withTimestampAssigner((e) => e.ts),
        'ev',
      )
      .keyBy((e) => e.subject)
      .window(TumblingEventTimeWindows.of('10s'))
      .process((subject, context, elements, o) => o.collect(`${subject} ${context.window.start} ${[...elements].length}`))
      .sinkTo(new CollectSink(out));
    t.equal((await env.execute('per-subject watermarks')).status, 'FINISHED');
    const expected = new Map<string, number>();
    for (const e of events) {
      const key = `${e.subject} ${e.ts - (e.ts % 10_000)}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    t.same(out.sort(), [...expected].map(([key, n]) => `${key} ${n}`).sort(), 'every window complete: nothing of ev.slow was late');
  },
);

t.test('start positions: a sequence, latest (nothing in a bounded run), a time', async (t) => {
  const fromSeq = await collect(new JetStreamSource({ servers: nats.url, stream: 'src', bounded: true, start: { sequence: 3991 } }), 1);
  t.same(fromSeq.out, LINES.slice(3990));
  const latest = await collect(new JetStreamSource({ servers: nats.url, stream: 'src', bounded: true, start: 'latest' }), 1);
  t.same(latest.out, []);
  const byTime = await collect(
    new JetStreamSource({ servers: nats.url, stream: 'src', bounded: true, start: { time: new Date(Date.now() + 3_600_000) } }),
    1,
  );
  t.same(byTime.out, [], 'nothing after a time in the future');
});

t.test(
  "a message the deserializer rejects: the job fails naming subject and sequence; with 'skip' it is counted and dropped",
  async (t) => {
    const parse = (data: Uint8Array) => {
      const text = new TextDecoder().decode(data);
      if (text === 'line 7') throw new Error('not a number');
      return text;
    };
    const failed = await collect(new JetStreamSource({ servers: nats.url, stream: 'src', bounded: true, deserializer: parse }), 1);
    t.equal(failed.result.status, 'FAILED');
    const error = failed.result.error as Error & { code?: string; hint?: string };
    t.equal(error.code, 'FLOE_JETSTREAM_DESERIALIZATION_FAILED');
    t.match(error.message, /subject src\.3 at stream sequence 8: not a number/);
    t.match(error.hint, /onDeserializationError: 'skip'/);
    t.equal(failed.result.restarts, 0);
    const source = new JetStreamSource({
      servers: nats.url,
      stream: 'src',
      bounded: true,
      deserializer: parse,
      onDeserializationError: 'skip',
    });
    const skipped = await collect(source, 1);
    t.same(
      skipped.out,
      LINES.filter((l) => l !== 'line 7'),
    );
    t.equal(source.skipped, 1);
  },
);

t.test('rescale through a savepoint: read at parallelism 2, stop, restore at 3: every message once', async (t) => {
  const savepoints = mkdtempSync(join(tmpdir(), 'floe-js-sp-'));
  const out: string[] = [];
  // one sink for both runs: it remembers what it committed, as a database would (the savepoint holds its last transaction)
  const sink = new CollectSink(out);
  const build = (parallelism: number, config: Record<string, unknown>) => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': parallelism,
      'execution.checkpointing.interval': '50ms',
      ...config,
    });
    env
      .fromSource(new JetStreamSource({ servers: nats.url, stream: 'src', subjects: ['src.0', 'src.1', 'src.2', 'src.3'], bounded: true }))
      .uid('source')
      .map((l: string) => {
        const until = performance.now() + 0.2; // slow enough to stop half way
        while (performance.now() < until);
        return l;
      })
      .uid('slow')
      .sinkTo(sink)
      .uid('sink');
    return env;
  };
  const first = await build(2, {}).executeAsync('rescale 1');
  while (out.length < 200) await new Promise((r) => setTimeout(r, 10));
  const path = await first.stopWithSavepoint(savepoints);
  const before = out.length;
  t.ok(before < LINES.length, `stopped half way (${before} of ${LINES.length})`);
  const second = await build(3, { 'execution.savepoint.path': path }).executeAsync('rescale 2');
  t.equal((await resultOf(second)).status, 'FINISHED');
  t.same([...out].sort(), [...LINES].sort(), 'every message once across both runs');
});

t.test(
  'subject partitions (NATS deterministic partitioning): bounded at parallelism 3, then a rescale 3 → 2 through a savepoint; every message once, each key in order',
  async (t) => {
    // the server maps part.<key> to part.<partition of key>.<key>: four partitions, as Kafka's
    const own = await NatsServer.start({ mappings: { 'part.*': 'part.{{partition(4,1)}}.{{wildcard(1)}}' } });
    t.teardown(() => own.destroy());
    await publishLines(own.url, 'part', LINES, { subjects: 50 });
    const source = () =>
      new JetStreamSource({
        servers: own.url,
        stream: 'part',
        subjects: ['part.{partition}.*'],
        partitions: 4,
        bounded: true,
        deserializer: (data, info) => ({ text: new TextDecoder().decode(data), subject: info.subject }),
      });
    const { out } = await collect(source(), 3);
    t.same(out.map((r) => r.text).sort(), [...LINES].sort(), 'every message once');
    t.same(
      new Set(out.map((r) => r.subject.split('.')[1])),
      new Set(['0', '1', '2', '3']),
      'the server spread the keys over the four partitions',
    );
    const keyOf = (text: string) => Number(text.split(' ')[1]) % 50;
    const inKeyOrder = (texts: string[]) => {
      const last = new Map<number, number>();
      return texts.every((text) => {
        const n = Number(text.split(' ')[1]);
        const ok = (last.get(keyOf(text)) ?? -1) < n;
        last.set(keyOf(text), n);
        return ok;
      });
    };
    t.ok(inKeyOrder(out.map((r) => r.text)), 'each key in publish order (a key stays in its partition)');

    const savepoints = mkdtempSync(join(tmpdir(), 'floe-js-part-sp-'));
    const texts: string[] = [];
    const sink = new CollectSink(texts);
    const build = (parallelism: number, config: Record<string, unknown>) => {
      const env = StreamExecutionEnvironment.getExecutionEnvironment({
        'parallelism.default': parallelism,
        'execution.checkpointing.interval': '50ms',
        ...config,
      });
      env
        .fromSource(source())
        .uid('source')
        .map((r: { text: string }) => {
          const until = performance.now() + 0.2; // slow enough to stop half way
          while (performance.now() < until);
          return r.text;
        })
        .uid('slow')
        .sinkTo(sink)
        .uid('sink');
      return env;
    };
    const first = await build(3, {}).executeAsync('partitions 1');
    while (texts.length < 200) await new Promise((r) => setTimeout(r, 10));
    const path = await first.stopWithSavepoint(savepoints);
    t.ok(texts.length < LINES.length, `stopped half way (${texts.length} of ${LINES.length})`);
    const second = await build(2, { 'execution.savepoint.path': path }).executeAsync('partitions 2');
    t.equal((await resultOf(second)).status, 'FINISHED');
    t.same([...texts].sort(), [...LINES].sort(), 'every message once across both runs');
    t.ok(inKeyOrder(texts), 'each key in publish order across the rescale');
  },
);

t.test('partitions: the filters it expands to; options it refuses', async (t) => {
  const { splitFilters } = await import('../../src/connectors/jetstream-source.ts');
  t.same(splitFilters({ subjects: ['a.{partition}.*', 'b.{partition}'], partitions: 2 }), ['a.0.*', 'a.1.*', 'b.0', 'b.1']);
  t.same(splitFilters({ subjects: ['a.>'] }), ['a.>']);
  t.same(splitFilters({}), ['']);
  t.throws(
    () => new JetStreamSource({ servers: nats.url, stream: 's', partitions: 4 }),
    /partitions needs subjects whose filters name the partition token/,
  );
  t.throws(
    () => new JetStreamSource({ servers: nats.url, stream: 's', subjects: ['s.*'], partitions: 4 }),
    /partition token \{partition\}/,
  );
  t.throws(() => new JetStreamSource({ servers: nats.url, stream: 's', subjects: ['s.{partition}'], partitions: 0 }), /positive integer/);
  t.throws(() => new JetStreamSource({ servers: nats.url, stream: 's', subjects: ['s.{partition}'] }), /partitions is not set/);
});

t.test(
  'a consumer each: named consumers on the stream are the splits, each read from where its readers left off; a missing one is a coded error',
  async (t) => {
    const nc = await connect({ servers: nats.url });
    t.teardown(() => nc.close());
    const jsm = await nc.jetstreamManager();
    for (let k = 0; k < 4; k++)
      await jsm.consumers.add('src', { durable_name: `reader-${k}`, filter_subject: `src.${k}`, ack_policy: AckPolicy.Explicit });
    // reader-1's application already took and acked the first 100 messages of src.1
    const consumer = await nc.jetstream().consumers.get('src', 'reader-1');
    const batch = await consumer.fetch({ max_messages: 100, expires: 5000 });
    let acked = 0;
    for await (const m of batch) {
      await m.ackAck();
      if (++acked === 100) break;
    }
    t.equal(acked, 100);
    const source = new JetStreamSource({
      servers: nats.url,
      stream: 'src',
      consumers: ['reader-0', 'reader-1', 'reader-2', 'reader-3'],
      bounded: true,
    });
    const { out, result } = await collect(source, 2);
    t.equal(result.status, 'FINISHED');
    const src1 = LINES.filter((_l, i) => i % 4 === 1);
    const expected = LINES.filter((l) => !src1.slice(0, 100).includes(l));
    t.same([...out].sort(), [...expected].sort(), 'every message once, reader-1 from its ack floor on');
    t.equal(
      (await jsm.consumers.info('src', 'reader-1')).ack_floor.stream_seq,
      4 * 99 + 2,
      'floe does not ack: the named consumer is left as it was',
    );
    const fromStart = await collect(
      new JetStreamSource({ servers: nats.url, stream: 'src', consumers: ['reader-1'], bounded: true, start: 'earliest' }),
      1,
    );
    t.same(fromStart.out, src1, 'an explicit start wins over the ack floor');
    const missing = await collect(
      new JetStreamSource({ servers: nats.url, stream: 'src', consumers: ['reader-0', 'nobody'], bounded: true }),
      1,
    );
    t.equal((missing.result.error as { code?: string }).code, 'FLOE_JETSTREAM_CONSUMER_NOT_FOUND');
    t.match((missing.result.error as Error).message, /no consumer 'nobody' on stream 'src'/);
    t.throws(
      () => new JetStreamSource({ servers: nats.url, stream: 'src', consumers: ['a'], subjects: ['src.0'] }),
      /consumers or subjects/,
    );
    t.throws(() => new JetStreamSource({ servers: nats.url, stream: 'src', consumers: [] }), /non-empty list/);
    for (let k = 0; k < 4; k++) await jsm.consumers.delete('src', `reader-${k}`);
  },
);

t.test('bad input: options, a server that is down at start, a missing stream', async (t) => {
  t.throws(() => new JetStreamSource({ servers: '', stream: 'x' }), TypeError);
  t.throws(() => new JetStreamSource({ servers: [], stream: 'x' }), TypeError);
  t.throws(() => new JetStreamSource({ servers: nats.url, stream: '' }), /needs stream/);
  t.throws(() => new JetStreamSource({ servers: nats.url, stream: 'x', start: { sequence: 0 } }), /start must be/);
  const port = await freePort();
  const down = await collect(
    new JetStreamSource({ servers: `nats://u:hush-hush@127.0.0.1:${port}`, stream: 'src', connectTimeoutMs: 300 }),
    1,
    { 'restart-strategy.type': 'none' },
  );
  const error = down.result.error as Error & { code?: string };
  t.equal(error.code, 'FLOE_JETSTREAM_UNAVAILABLE');
  t.match(error.message, new RegExp(`cannot connect to NATS at nats://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
  t.notMatch(error.message, /hush-hush/, 'the password is not printed');
  const noStream = await collect(new JetStreamSource({ servers: nats.url, stream: 'nope', bounded: true }), 1);
  t.equal((noStream.result.error as { code?: string }).code, 'FLOE_JETSTREAM_STREAM_NOT_FOUND');
});

t.test(
  'the server goes away mid-job: the task fails, the restart strategy brings the job back when it returns, every message once',
  async (t) => {
    const own = await NatsServer.start();
    t.teardown(() => own.destroy());
    await publishLines(own.url, 'away', LINES);
    const out: string[] = [];
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'execution.checkpointing.interval': '30ms',
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 20,
      'restart-strategy.fixed-delay.delay': '200ms',
    });
    env
      .fromSource(new JetStreamSource({ servers: own.url, stream: 'away', bounded: true, connectTimeoutMs: 500 }))
      .uid('source')
      .map((l: string) => {
        const until = performance.now() + 0.3;
        while (performance.now() < until);
        return l;
      })
      .uid('slow')
      .sinkTo(new CollectSink(out))
      .uid('sink');
    const client = await env.executeAsync('server away');
    const failures: string[] = [];
    client.on('task-failed', ({ error }) => failures.push((error as { code?: string }).code ?? String(error)));
    while (out.length < 100) await new Promise((r) => setTimeout(r, 10));
    await own.stop(true);
    while (failures.length === 0) await new Promise((r) => setTimeout(r, 10));
    await own.resume();
    const result = await resultOf(client);
    t.equal(result.status, 'FINISHED');
    t.ok(result.restarts >= 1, `restarted (${result.restarts})`);
    t.ok(
      failures.some((c) => c.startsWith('FLOE_JETSTREAM_')),
      `a coded failure: ${failures.join(', ')}`,
    );
    t.same(out, LINES, 'every message once, in order');
  },
);

t.test('servers as a -D key: connector.nats.servers; none at all is refused before the job starts', async (t) => {
  const { out, result } = await collect(new JetStreamSource({ stream: 'src', bounded: true, start: { sequence: 3999 } }), 1, {
    'connector.nats.servers': nats.url,
  });
  t.equal(result.status, 'FINISHED');
  t.same(out, LINES.slice(3998));
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  env.fromSource(new JetStreamSource({ stream: 'src' })).sinkTo(new CollectSink([]));
  await t.rejects(env.executeAsync('no servers'), { code: 'FLOE_JETSTREAM_NO_SERVERS', hint: /-D connector\.nats\.servers=/ });
});
