// GET /jobs/:id/vertices/:vid/watermarks (Flink's path): each subtask's input and output watermark while an event-time job runs.
import t from 'tap';
import { CollectSink, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy } from '../../src/index.ts';
import { createRestServer, JobRegistry } from '../../src/server/rest-server.ts';

t.test('watermarks per subtask of a vertex', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 2,
    'pipeline.auto-watermark-interval': '10ms',
    'taskmanager.network.batch-size': 8,
  });
  let stop = false;
  env
    .fromSequence(0, 1_000_000)
    .map((i: number) => {
      if (stop) return { k: i % 7, ts: i * 100 };
      const until = performance.now() + 0.2;
      while (performance.now() < until);
      return { k: i % 7, ts: i * 100 };
    })
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forMonotonousTimestamps<{ k: number; ts: number }>().withTimestampAssigner((e) => e.ts),
    )
    .keyBy((e) => e.k)
    .window(TumblingEventTimeWindows.of('1s'))
    .reduce((a) => a)
    .uid('windows')
    .sinkTo(new CollectSink([]));
  const client = await env.executeAsync('rest watermarks');
  const jobs = new JobRegistry();
  jobs.add(client);
  const app = createRestServer(jobs, { allowedDirs: [t.testdir()] });
  t.teardown(() => app.close());
  const details = (await app.inject({ method: 'GET', url: `/jobs/${client.jobId}` })).json();
  const vertex = details.plan.nodes.find((v: { operators: Array<{ uid: string }> }) => v.operators.some((o) => o.uid === 'windows'));
  t.ok(vertex, 'the window vertex is listed');
  let metrics: Array<{ id: string; value: string }> = [];
  // poll until event time has advanced at the windows (no timing asserted: only that it moves)
  for (let i = 0; i < 600; i++) {
    metrics = (await app.inject({ method: 'GET', url: `/jobs/${client.jobId}/vertices/${vertex.id}/watermarks` })).json();
    const input = metrics.find((m) => m.id === '0.currentInputWatermark');
    if (input && Number(input.value) > 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.same(metrics.map((m) => m.id).sort(), [
    '0.currentInputWatermark',
    '0.currentOutputWatermark',
    '1.currentInputWatermark',
    '1.currentOutputWatermark',
  ]);
  t.ok(Number(metrics.find((m) => m.id === '0.currentInputWatermark')!.value) > 0, 'the input watermark rose from records');
  const missing = await app.inject({ method: 'GET', url: `/jobs/${client.jobId}/vertices/nope/watermarks` });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'FLOE_REST_VERTEX_NOT_FOUND');
  stop = true;
  await client.cancel();
});
