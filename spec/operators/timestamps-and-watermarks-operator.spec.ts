// assignTimestampsAndWatermarks: a record goes downstream before the watermark its own event emits (Flink's order).
import t from 'tap';
import {
  CollectSink,
  MIN_WATERMARK,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type ProcessContext,
} from '../../src/index.ts';

interface Event {
  k: string;
  ts: number;
}

// a generator that raises the watermark to each record's own timestamp as it sees it
const perEvent = () =>
  WatermarkStrategy.forGenerator<Event>(() => ({
    onEvent: (_e, ts, out) => out.emitWatermark(ts),
    onPeriodicEmit: () => {},
  })).withTimestampAssigner((e) => e.ts);

t.test('a watermark emitted on a record does not make that record late for its window', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  const counts: Array<[string, number, number]> = [];
  env
    .fromCollection<Event>([
      { k: 'a', ts: 1000 },
      { k: 'a', ts: 59_999 },
      { k: 'a', ts: 60_000 },
    ])
    .assignTimestampsAndWatermarks(perEvent())
    .keyBy((e) => e.k)
    .window(TumblingEventTimeWindows.of('1 min'))
    .process((key, context, elements, out) => out.collect([key, context.window.start, [...elements].length] as [string, number, number]))
    .sinkTo(new CollectSink(counts));
  t.equal((await env.execute('record before its watermark')).status, 'FINISHED');
  t.same(
    counts.sort((x, y) => x[1] - y[1]),
    [
      ['a', 0, 2],
      ['a', 60_000, 1],
    ],
  );
});

t.test('a process function sees the watermark from before the record, not the one the record raises', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  const seen: Array<[number, number]> = [];
  env
    .fromCollection<Event>([
      { k: 'a', ts: 1000 },
      { k: 'a', ts: 2000 },
    ])
    .assignTimestampsAndWatermarks(perEvent())
    .keyBy((e) => e.k)
    .process((e: Event, ctx: ProcessContext<string>, out) => out.collect([e.ts, ctx.timerService().currentWatermark()]))
    .sinkTo(new CollectSink(seen));
  t.equal((await env.execute('watermark seen by processElement')).status, 'FINISHED');
  t.same(seen, [
    [1000, MIN_WATERMARK],
    [2000, 1000],
  ]);
});
