// JetStreamSink against a real nats-server: JetStream → JetStream with injected failures holds each result once; the duplicate-window warning; bad input.
import t from 'tap';
import {
  JetStreamSink,
  JetStreamSource,
  onFloeWarning,
  StreamExecutionEnvironment,
  type FloeWarning,
  type JobClient,
} from '../../src/index.ts';
import { publishLines, readStream } from '../fixtures/jetstream-data.ts';
import { NatsServer, natsServerAvailable } from '../helpers/nats-server.ts';
import { FailureInjector } from '../fixtures/failure-injector.ts';

if (!natsServerAvailable()) {
  t.plan(0, 'skipped: nats-server is not installed (apt-get install -y nats-server)');
  process.exit(0);
}

const nats = await NatsServer.start();
t.teardown(() => nats.destroy());
const LINES = Array.from({ length: 3000 }, (_, i) => `msg ${i}`);
await publishLines(nats.url, 'in', LINES);

const resultOf = (client: JobClient) =>
  client.getJobExecutionResult().catch((error: { result?: Awaited<ReturnType<JobClient['getJobExecutionResult']>> }) => {
    if (!error.result) throw error;
    return error.result;
  });

t.test('JetStream → map → JetStream with two injected failures: the output stream holds each result exactly once', async (t) => {
  await publishLines(nats.url, 'out', [], { duplicateWindowMs: 15 * 60_000 });
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    'execution.checkpointing.interval': '100ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 5,
    'restart-strategy.fixed-delay.delay': '20ms',
  });
  const failures = new FailureInjector([2, 1]);
  env
    .fromSource(failures.hold(new JetStreamSource({ servers: nats.url, stream: 'in', bounded: true })))
    .uid('source')
    .map((line: string, ctx) => {
      failures.pace(ctx.attemptNumber);
      return line.toUpperCase();
    })
    .uid('upper')
    .sinkTo(new JetStreamSink({ servers: nats.url, subject: 'out.results' }))
    .uid('sink');
  const client = await env.executeAsync('js to js');
  failures.watch(client);
  const result = await resultOf(client);
  t.equal(result.status, 'FINISHED', String(result.error ?? ''));
  t.equal(failures.thrown, 2, 'both failures happened');
  t.same(
    await readStream(nats.url, 'out'),
    LINES.map((l) => l.toUpperCase()),
    'each result once, in order',
  );
});

t.test('a stream whose duplicate window is shorter than the checkpoint timeout: a warning with the fix', async (t) => {
  await publishLines(nats.url, 'short', [], { duplicateWindowMs: 60_000 });
  const warnings: FloeWarning[] = [];
  const stop = onFloeWarning((w) => warnings.push(w));
  t.teardown(stop);
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2 });
  env.fromCollection(['a', 'b', 'c']).sinkTo(new JetStreamSink({ servers: nats.url, subject: 'short.x' }));
  t.equal((await resultOf(await env.executeAsync('short window'))).status, 'FINISHED');
  t.equal(warnings.length, 1, 'one warning for the stream, not one per subtask');
  t.equal(warnings[0]?.code, 'FLOE_JETSTREAM_SHORT_DUPLICATE_WINDOW');
  t.match(warnings[0]?.message, /stream short drops duplicate message ids for 60 s only, less than the checkpoint timeout \(600 s\)/);
  t.match(warnings[0]?.hint, /--dupe-window 10m/);
  t.same((await readStream(nats.url, 'short')).sort(), ['a', 'b', 'c']);
});

t.test('bad input: options, no stream takes the subject', async (t) => {
  t.throws(() => new JetStreamSink({ servers: nats.url, subject: 'a.*' }), /without wildcards/);
  t.throws(() => new JetStreamSink({ servers: [], subject: 'a' }), TypeError);
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1, 'restart-strategy.type': 'none' });
  env.fromCollection(['a']).sinkTo(new JetStreamSink({ servers: nats.url, subject: 'nowhere.at.all' }));
  const result = await resultOf(await env.executeAsync('no stream'));
  t.equal(result.status, 'FAILED');
  t.equal((result.error as { code?: string }).code, 'FLOE_JETSTREAM_NO_STREAM_FOR_SUBJECT');
});
