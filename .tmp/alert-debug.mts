import { CollectSink, StreamExecutionEnvironment, WatermarkStrategy } from '/work/wt-time/src/index.ts';
interface Ping { device: string; ts: number }
const out: Ping[] = [];
for (let s = 0; s < 60; s++) for (let i = 0; i < 6; i++) if (i >= 3 || s < 10 + i) out.push({ device: `d${i}`, ts: s * 1000 });
for (const p of [1, 2]) {
const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': p, 'pipeline.auto-watermark-interval': '5ms' });
const alerts: string[] = [];
env.fromCollection(out).map((x: Ping) => x)
  .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ping>().withTimestampAssigner((p) => p.ts))
  .keyBy((p) => p.device)
  .process<string>({
    processElement(p, ctx) {
      const last = ctx.getState<number>('timer');
      const previous = last.value();
      if (p.device === 'd1') console.log('d1', p.ts, previous, ctx.timestamp, ctx.timerService().currentWatermark());
      if (previous !== undefined) ctx.timerService().deleteEventTimeTimer(previous);
      last.update(p.ts + 5000);
      ctx.timerService().registerEventTimeTimer(p.ts + 5000);
    },
    onTimer(ts, ctx, o) { o.collect(`${ctx.currentKey} ${ts} ${ctx.timestamp}`); },
  }).sinkTo(new CollectSink(alerts));
await env.execute('x');
console.log(p, alerts.sort());
}
