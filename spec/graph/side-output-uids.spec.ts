// Generated uids around side outputs: the virtual selections of a process function's or a window's outputs keep the uids the selector operators had, so operators reading them keep theirs (state in savepoints stays matched); the selectors are no operators.
import t from 'tap';
import { CollectSink, OutputTag, StreamExecutionEnvironment, TumblingEventTimeWindows } from '../../src/index.ts';

t.test('a job without explicit uids gets the uids it got when selector operators ran behind process functions and windows', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2 });
  const tag = new OutputTag<number>('t');
  const late = new OutputTag<number>('late');
  const p = env
    .fromSequence(0, 10)
    .map((x: number) => x)
    .process<number>((n: number, _ctx, out) => out.collect(n));
  p.map((x) => x).sinkTo(new CollectSink<number>([]));
  p.getSideOutput(tag)
    .keyBy((x) => x)
    .map((x) => x)
    .sinkTo(new CollectSink<number>([]));
  const w = p
    .keyBy((x) => x)
    .window(TumblingEventTimeWindows.of(1000))
    .sideOutputLateData(late)
    .reduce((a, b) => a + b);
  w.map((x) => x).sinkTo(new CollectSink<number>([]));
  w.getSideOutput(late)
    .rebalance()
    .map((x) => x)
    .sinkTo(new CollectSink<number>([]));
  const graph = env.getJobGraph();
  const uids = graph.vertices.flatMap((v) => v.chain.map((x) => `${x.name}=${x.uid}`));
  // what floe at ab4a544 generated for this job, less its four selector operators
  t.same(uids.sort(), [
    'Collect=collect-34a60a7e',
    'Collect=collect-a4a4a6ec',
    'Collect=collect-d6f65908',
    'Collect=collect-d89f6b5c',
    'Map=map-000ea10f',
    'Map=map-4852441e',
    'Map=map-da67c648',
    'Map=map-dd113af3',
    'Map=map-f2d12cad',
    'Process=process-28723df4',
    'Sequence Source=sequence-source-4d045e62',
    'Window(Reduce)=window-reduce--3f748746',
  ]);
  t.notOk(
    graph.generatedUids.some((u) => u.includes('output')),
    'no selector among the generated uids a job is warned about',
  );
});
