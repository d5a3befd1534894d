// End to end: many more pending timers than the level backend keeps on the heap; each watermark is passed on only after every timer it made due fired, so nothing they emit is late downstream.
import t from 'tap';
import { CollectSink, StreamExecutionEnvironment, WatermarkStrategy, type Output, type ProcessContext } from '../../src/index.ts';

const RECORDS = 48_000;
const KEYS = 1500;
const MINUTE = 60_000;
/** records per minute of event time (5 ms apart) */
const PER_MINUTE = MINUTE / 5;

for (const backend of ['level', 'memory'] as const) {
  t.test(
    `${backend}: ${RECORDS.toLocaleString()} timers fire once each, and downstream none of their output is behind the watermark`,
    async (t) => {
      const dir = t.testdir();
      const env = StreamExecutionEnvironment.getExecutionEnvironment({
        'parallelism.default': 2,
        'execution.checkpointing.interval': '50ms',
        'state.backend.type': backend,
        'state.backend.level.localdir': `${dir}/level`,
        'state.checkpoints.dir': `${dir}/checkpoints`,
        'pipeline.auto-watermark-interval': '2ms',
      });
      const fired: string[] = [];
      const late: string[] = [];
      env
        .fromSequence(0, RECORDS - 1)
        .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((i) => i * 5))
        .keyBy((i) => `k${i % KEYS}`)
        .process<{ key: string; at: number }>({
          // a timer per record after the end of its minute: 6,000 per subtask due in each burst, past the 4,096 the level backend keeps on the heap
          processElement(i, ctx) {
            const minuteEnd = Math.floor((i * 5) / MINUTE) * MINUTE + MINUTE;
            ctx.timerService().registerEventTimeTimer(minuteEnd + (i % PER_MINUTE));
          },
          onTimer(timestamp, ctx: ProcessContext<string>, out: Output<{ key: string; at: number }>) {
            out.collect({ key: ctx.currentKey as string, at: timestamp });
          },
        })
        .keyBy((r) => r.key)
        .process<string>({
          processElement(r, ctx) {
            // the timer's output carries its time: behind this operator's watermark it would be late
            if (r.at <= ctx.timerService().currentWatermark()) late.push(`${r.key}@${r.at}`);
            return `${r.key}@${r.at}`;
          },
          onTimer() {},
        })
        .sinkTo(new CollectSink(fired));
      const result = await env.execute('level-timers');
      t.equal(result.status, 'FINISHED');
      t.equal(fired.length, RECORDS, 'every timer fired');
      t.equal(new Set(fired).size, RECORDS, 'each once');
      t.same(late.slice(0, 5), [], 'no timer output reached the next operator behind its watermark');
    },
  );
}
