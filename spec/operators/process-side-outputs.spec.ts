// Side outputs from process functions: ctx.output(tag, value) in processElement and onTimer, read with getSideOutput(tag); the main output never sees them.
import t from 'tap';
import {
  CollectSink,
  OutputTag,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type Output,
  type ProcessContext,
} from '../../src/index.ts';

t.test('a process function splits a stream: each record in exactly one of the main output and two side outputs', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2, 'execution.checkpointing.interval': '20ms' });
  const negative = new OutputTag<number>('negative');
  const big = new OutputTag<string>('big');
  const main: number[] = [];
  const negatives: number[] = [];
  const bigs: string[] = [];
  const split = env
    .fromSequence(-500, 1500)
    .process((n: number, ctx, out) => {
      if (n < 0) ctx.output(negative, n);
      else if (n >= 1000) ctx.output(big, `big:${n}`);
      else out.collect(n * 2);
    })
    .uid('split');
  split.sinkTo(new CollectSink(main));
  split.getSideOutput(negative).sinkTo(new CollectSink(negatives));
  split
    .getSideOutput(big)
    .map((s) => s.toUpperCase())
    .sinkTo(new CollectSink(bigs));
  const result = await env.execute('split');
  t.equal(result.status, 'FINISHED');
  t.same(
    main.sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i * 2),
    'the main output: only what out.collect emitted',
  );
  t.same(
    negatives.sort((a, b) => a - b),
    Array.from({ length: 500 }, (_, i) => i - 500),
    'side output "negative"',
  );
  t.same(bigs.sort(), Array.from({ length: 501 }, (_, i) => `BIG:${1000 + i}`).sort(), 'side output "big", with an operator behind it');
  t.throws(
    () =>
      env
        .fromCollection([1])
        .process((_n: number, ctx) => ctx.output(undefined as never, 1))
        .getSideOutput(undefined as never),
    TypeError,
  );
});

interface Reading {
  sensor: string;
  ts: number;
  value: number;
}

t.test(
  'a keyed process function emits to a side output from onTimer, with the timer time as the event timestamp (windows over the side output)',
  async (t) => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2 });
    const silent = new OutputTag<string>('silent');
    const readings: Reading[] = [];
    // sensor s<i> reports every second for 5 + i seconds; s0..s3 then fall silent, s4 and s5 go on to 30 s
    for (let s = 0; s < 30; s++)
      for (let i = 0; i < 6; i++) if (i >= 4 || s < 5 + i) readings.push({ sensor: `s${i}`, ts: s * 1000, value: i });
    const main: string[] = [];
    const alerts: string[] = [];
    const perMinute: number[] = [];
    const monitored = env
      .fromCollection(readings)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Reading>().withTimestampAssigner((r) => r.ts))
      .setParallelism(1) // one channel into each process subtask: a sensor's readings arrive in time order
      .keyBy((r) => r.sensor)
      .process({
        processElement(r: Reading, ctx: ProcessContext<string>, out: Output<string>) {
          const last = ctx.getState<number>('last');
          const previous = last.value();
          if (previous !== undefined) ctx.timerService().deleteEventTimeTimer(previous + 3000);
          last.update(r.ts);
          ctx.timerService().registerEventTimeTimer(r.ts + 3000);
          if (r.value > 4) out.collect(`${r.sensor}@${r.ts}`);
        },
        onTimer(ts: number, ctx: ProcessContext<string>, _out: Output<string>) {
          // the input's end (maximum watermark) fires the timers of the sensors still reporting: only true silences count
          if (ts < 29_000 + 3000) ctx.output(silent, `${ctx.currentKey} silent at ${ts} (timestamp ${ctx.timestamp})`);
        },
      });
    monitored.sinkTo(new CollectSink(main));
    const side = monitored.getSideOutput(silent);
    side.sinkTo(new CollectSink(alerts));
    // the side output's records carry the timer's time: an event-time window over them counts them
    side
      .keyBy(() => 'all')
      .window(TumblingEventTimeWindows.of('1 min'))
      .aggregate({ createAccumulator: () => 0, add: (_s: string, n: number) => n + 1, getResult: (n) => n })
      .sinkTo(new CollectSink(perMinute));
    await env.execute('silences');
    t.same(
      alerts.sort(),
      [0, 1, 2, 3].map((i) => `s${i} silent at ${(4 + i) * 1000 + 3000} (timestamp ${(4 + i) * 1000 + 3000})`),
      'one alert per silent sensor, from onTimer',
    );
    t.same(
      main.sort(),
      Array.from({ length: 30 }, (_, s) => `s5@${s * 1000}`).sort(),
      'the main output holds only what out.collect emitted',
    );
    t.same(perMinute, [4], 'the side output carries event timestamps: a window over it sees all four alerts');
  },
);
