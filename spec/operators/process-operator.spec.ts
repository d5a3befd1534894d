// Process functions without timers of their own: ctx.timerService() still reads the watermark and the clock
// (as Flink's ProcessFunction); only registering a timer is refused, with the code that says why.
import t from 'tap';
import { CollectSink, MIN_WATERMARK, StreamExecutionEnvironment, WatermarkStrategy } from '../../src/index.ts';

const stamped = () =>
  WatermarkStrategy.forGenerator<number>(() => ({
    onEvent: (_e, ts, out) => out.emitWatermark(ts),
    onPeriodicEmit: () => {},
  })).withTimestampAssigner((n) => n);

for (const keyed of [false, true]) {
  t.test(`${keyed ? 'keyed' : 'not keyed'}, no onTimer: currentWatermark and currentProcessingTime are readable`, async (t) => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
    const seen: Array<[number, number, boolean]> = [];
    const before = Date.now();
    const stream = env.fromCollection([10, 20, 30]).assignTimestampsAndWatermarks(stamped());
    const fn = (n: number, ctx: { timerService(): { currentWatermark(): number; currentProcessingTime(): number } }) => {
      const timers = ctx.timerService();
      const now = timers.currentProcessingTime();
      return [n, timers.currentWatermark(), now >= before && now <= Date.now()] as [number, number, boolean];
    };
    (keyed ? stream.keyBy((n) => n % 2).process(fn) : stream.process(fn)).sinkTo(new CollectSink(seen));
    t.equal((await env.execute('watermark without timers')).status, 'FINISHED');
    t.same(seen, [
      [10, MIN_WATERMARK, true],
      [20, 10, true],
      [30, 20, true],
    ]);
  });
}

t.test('a timer on a stream that is not keyed: FLOE_TIMER_NOT_KEYED, even with onTimer', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  env
    .fromCollection([1])
    .process({ processElement: (_x: number, ctx) => ctx.timerService().registerEventTimeTimer(5), onTimer: () => {} })
    .sinkTo(new CollectSink([]));
  const e = await env.execute('not keyed').then(
    () => null,
    (x: unknown) => x,
  );
  t.match(JSON.stringify(e), /FLOE_TIMER_NOT_KEYED/);
  t.match(JSON.stringify(e), /keyBy/);
});

// The README's timer example as written: processElement only registers a timer (two parameters, no return),
// onTimer emits strings; `tsc --noEmit` of npm test compiles this (OUT must not be inferred as void).
interface Ping {
  device: string;
  ts: number;
}

t.test("the README's timers example type-checks and alerts once per silent device", async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  const alerts: string[] = [];
  const stream = env
    .fromCollection<Ping>([
      { device: 'a', ts: 1000 },
      { device: 'b', ts: 2000 },
      { device: 'a', ts: 9000 },
    ])
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ping>().withTimestampAssigner((p) => p.ts));
  stream
    .keyBy((p: Ping) => p.device)
    .process({
      processElement(p: Ping, ctx) {
        ctx.timerService().registerEventTimeTimer(p.ts + 5000); // one timer per key and timestamp
      },
      onTimer(timestamp, ctx, out) {
        out.collect(`${ctx.currentKey} silent since ${timestamp - 5000}`);
      },
    })
    .sinkTo(new CollectSink(alerts));
  t.equal((await env.execute('readme timers')).status, 'FINISHED');
  t.same(alerts.sort(), ['a silent since 1000', 'a silent since 9000', 'b silent since 2000']);
});

t.test('a timer on a stream that is not keyed fails the job at once, without restarts: a restart meets the same error', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    'execution.checkpointing.interval': '50ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 1000,
    'restart-strategy.fixed-delay.delay': '1ms',
  });
  env
    .fromCollection([1])
    .process({ processElement: (_x: number, ctx) => ctx.timerService().registerEventTimeTimer(5), onTimer: () => {} })
    .sinkTo(new CollectSink([]));
  const e = (await env.execute('not keyed, restarts on').then(
    () => null,
    (x: unknown) => x,
  )) as { code?: string; message?: string; result?: { restarts: number } } | null;
  t.equal(e?.code, 'FLOE_JOB_FAILED');
  t.match(e?.message, /FLOE_TIMER_NOT_KEYED.*not restarted: restarting cannot fix this/);
  t.equal(e?.result?.restarts, 0);
});
