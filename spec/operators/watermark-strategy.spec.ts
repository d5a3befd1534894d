// The and the README's pipeline exactly as written: a strategy built without a type argument type-checks
// (`tsc --noEmit` of npm test compiles this file) and counts per key and minute, late records to the side output.
import t from 'tap';
import { CollectSink, OutputTag, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy } from '../../src/index.ts';

interface Event {
  user: string;
  ts: number;
}
const MIN = 60_000;

t.test('forBoundedOutOfOrderness without a type argument: the assigner gets the stream type, windows count exactly', async (t) => {
  const lines = [
    { user: 'a', ts: 0 },
    { user: 'b', ts: 1000 },
    { user: 'a', ts: 59_999 },
    { user: 'a', ts: 61_000 },
    { user: 'b', ts: 30 * MIN },
  ].map((e) => JSON.stringify(e));
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  const late = new OutputTag<Event>('late');
  const counts = env
    .fromCollection(lines)
    .map((l: string) => JSON.parse(l) as Event)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness('2s').withTimestampAssigner((e) => e.ts))
    .keyBy((e) => e.user)
    .window(TumblingEventTimeWindows.of('1 min'))
    .allowedLateness('10s')
    .sideOutputLateData(late)
    .process((key, context, elements, out) => out.collect({ key, start: context.window.start, n: [...elements].length }));
  const results: Array<{ key: string; start: number; n: number }> = [];
  const lateOnes: Event[] = [];
  counts.sinkTo(new CollectSink(results));
  counts.getSideOutput(late).sinkTo(new CollectSink(lateOnes));
  const result = await env.execute('typed without a type argument');
  t.equal(result.status, 'FINISHED');
  t.same(
    results.sort((x, y) => x.key.localeCompare(y.key) || x.start - y.start),
    [
      { key: 'a', start: 0, n: 2 },
      { key: 'a', start: MIN, n: 1 },
      { key: 'b', start: 0, n: 1 },
      { key: 'b', start: 30 * MIN, n: 1 },
    ],
  );
  t.same(lateOnes, []);
});
