// The alignment benchmark tool: scenario validation, shipped scenarios, a short real run per mode, charts, union.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseModes, percentiles, runMode } from '../../src/bench/alignment-bench.ts';
import { sweepChart } from '../../src/bench/alignment-report.ts';
import { loadScenario, scenarioFrom } from '../../src/bench/scenario.ts';
import { SHIPPED_SCENARIOS } from '../../src/cli/bench-command.ts';
import { CollectSink, StreamExecutionEnvironment } from '../../src/index.ts';

t.test('scenarios: bad ones are refused with the field named; every shipped one loads', async (t) => {
  const source = { id: 'a', parallelism: 1 };
  t.throws(() => scenarioFrom({ operators: [] }, 'x.yaml'), {
    code: 'FLOE_BENCH_SCENARIO_INVALID',
    message: /x.yaml: needs at least one source/,
  });
  t.throws(() => scenarioFrom({ sources: [source], operators: [{ id: 'm', input: 'nope' }] }), {
    message: /reads 'nope', which is not defined/,
  });
  t.throws(() => scenarioFrom({ sources: [source], operators: [{ id: 'j', type: 'join', inputs: ['a'] }] }), {
    message: /a join reads two inputs/,
  });
  t.throws(() => scenarioFrom({ sources: [source], operators: [{ id: 'm', input: 'a', edge: 'sideways' }] }), { message: /edge must be/ });
  t.throws(() => scenarioFrom({ sources: [source], operators: [{ id: 'm', input: 'a', slow: { subtask: 3 } }] }), {
    message: /slow.subtask 3 is not below its parallelism 1/,
  });
  t.throws(() => scenarioFrom({ sources: [{ ...source, rate: -1 }], operators: [{ id: 'm', input: 'a' }] }), {
    message: /sources\[0\].rate must be a number >= 0/,
  });
  await t.rejects(loadScenario('/no/such/file.yaml'), { code: 'FLOE_BENCH_SCENARIO_NOT_FOUND' });
  t.throws(() => parseModes('exactly-once,sometimes'), { code: 'FLOE_BENCH_UNKNOWN_MODE' });
  const files = readdirSync(SHIPPED_SCENARIOS)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  t.same(files, ['backpressure.yaml', 'balanced.yaml', 'lagging-join.yaml', 'skewed-keys.yaml']);
  for (const f of files) {
    const s = await loadScenario(join(SHIPPED_SCENARIOS, f));
    t.equal(`${s.name}.yaml`, f, `${f} loads`);
  }
  const join2 = await loadScenario(join(SHIPPED_SCENARIOS, 'lagging-join.yaml'));
  t.same(join2.operators.find((o) => o.type === 'join')?.inputs, ['orders', 'payments-lag']);
});

t.test('percentiles are nearest-rank', async (t) => {
  t.same(percentiles([]), { p50: 0, p99: 0 });
  t.same(percentiles([5, 1, 3, 2, 4]), { p50: 3, p99: 5 });
  t.same(percentiles(Array.from({ length: 100 }, (_, i) => i + 1)), { p50: 50, p99: 99 });
});

t.test('a short real run: a slow subtask makes unaligned checkpoints persist in-flight data, aligned ones hold it back', async (t) => {
  const scenario = scenarioFrom({
    name: 'tiny',
    checkpoint: { interval: '50ms', alignedTimeout: '5ms' },
    network: { buffersPerChannel: 2, batchSize: 16 },
    sources: [{ id: 'src', parallelism: 2, keys: 50 }],
    operators: [{ id: 'slow', input: 'src', edge: 'hash', parallelism: 2, stateBytes: 8, slow: { subtask: 0, delay: '5ms' } }],
  });
  const results = [];
  for (const mode of ['exactly-once', 'unaligned'] as const) results.push(await runMode(scenario, mode, { durationMs: 900 }));
  const [aligned, unaligned] = results as [Awaited<ReturnType<typeof runMode>>, Awaited<ReturnType<typeof runMode>>];
  for (const r of results) {
    t.ok(r.throughput > 0, `${r.mode}: records flowed`);
    t.ok(r.checkpoints.completed > 0, `${r.mode}: checkpoints completed`);
    t.ok(r.latency.p99 >= r.latency.p50, `${r.mode}: latency measured`);
    t.ok(Object.keys(r.alignmentBySubtask).length === 2, `${r.mode}: alignment per subtask with inputs`);
  }
  t.equal(aligned.inFlightBytesPersisted.p99, 0, 'aligned persists no in-flight data');
  t.ok(unaligned.inFlightBytesPersisted.p99 > 0, 'unaligned persists the overtaken buffers');
  const svg = sweepChart('tiny', [...results, { ...aligned, level: 2 }, { ...unaligned, level: 2 }], 5);
  t.match(svg, /^<svg/);
  t.equal(svg.match(/<polyline/g)?.length, 8, 'a p50 and a p99 line per mode in each of the two panels');
});

t.test('union merges streams into one operator with several inputs', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2, 'execution.checkpointing.interval': '20ms' });
  const out: number[] = [];
  const a = env.fromSequence(1, 500).uid('a');
  const b = env.fromSequence(501, 1000).uid('b').setParallelism(1);
  a.union(b)
    .uid('u')
    .keyBy((n: number) => n % 7)
    .reduce((x, y) => y)
    .uid('r')
    .sinkTo(new CollectSink(out))
    .uid('s');
  const union = env.getJobGraph().vertices.find((v) => v.chain[0]!.uid === 'u')!;
  t.equal(union.inputs.length, 2, 'one edge per input');
  const result = await env.execute('union');
  t.equal(result.status, 'FINISHED');
  t.same(
    out.sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
});
