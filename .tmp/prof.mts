import { StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy, CollectSink } from '/work/wt-time/src/index.ts';
const EVENTS = 200000, KEYS = 100000, MINUTE = 60000, BASE = 1_700_000_000_000, STEP = 10*MINUTE/EVENTS;
const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
let n = 0;
env.fromSequence(0, EVENTS - 1).map((i: number) => ({ k: i % KEYS, ts: BASE + Math.floor(i * STEP) }))
  .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<{k:number;ts:number}>().withTimestampAssigner((e) => e.ts))
  .keyBy((e) => e.k).window(TumblingEventTimeWindows.of('1 min'))
  .aggregate({ createAccumulator: () => 0, add: (_e, n: number) => n + 1, getResult: (n) => n })
  .sinkTo({ name: 'c', createWriter: () => ({ open() {}, processElement: () => void n++ }) } as any);
const t0 = performance.now();
await env.execute('p');
console.log(n, performance.now() - t0);
