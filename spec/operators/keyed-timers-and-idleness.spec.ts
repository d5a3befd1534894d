// Keyed process functions with timers (alerts after a silence) across a failure, processing-time timers, and withIdleness: an idle source split does not hold event time back.
import t from 'tap';
import {
  CollectSink,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  WatermarkStrategy,
  type OperatorContext,
  type Output,
  type PollResult,
  type ProcessContext,
  type Source,
  type SourceReader,
} from '../../src/index.ts';

interface Ping {
  device: string;
  ts: number;
}

// device d<i> pings every second for 10 + i seconds, then falls silent; others go on until 60 s
function pings(): Ping[] {
  const out: Ping[] = [];
  for (let s = 0; s < 60; s++) for (let i = 0; i < 6; i++) if (i >= 3 || s < 10 + i) out.push({ device: `d${i}`, ts: s * 1000 });
  return out;
}

for (const backend of ['memory', 'level'] as const) {
  t.test(`${backend}: an alert 5 s (event time) after a device's last ping, exactly once across a failure`, async (t) => {
    const dir = t.testdir();
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 2,
      'execution.checkpointing.interval': '20ms',
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 2,
      'restart-strategy.fixed-delay.delay': '10ms',
      'state.backend.type': backend,
      'state.backend.level.localdir': `${dir}/level`,
      'state.checkpoints.dir': `${dir}/checkpoints`,
      'pipeline.auto-watermark-interval': '5ms',
      // small buffers and source polls: barriers get between records of this short run
      'taskmanager.network.batch-size': 4,
    });
    const alerts: string[] = [];
    let thrown = false;
    let completed = 0;
    const all = pings();
    env
      .fromSequence(0, all.length - 1)
      .map((i: number, ctx) => {
        const p = all[i]!;
        const until = performance.now() + 1;
        while (performance.now() < until);
        if (!thrown && ctx.attemptNumber === 0 && completed >= 1 && p.ts >= 50_000) {
          thrown = true;
          throw new Error('injected failure');
        }
        return p;
      })
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ping>().withTimestampAssigner((p) => p.ts))
      .keyBy((p) => p.device)
      .process<string>({
        processElement(p, ctx) {
          const last = ctx.getState<number>('timer');
          const previous = last.value();
          // pings of a device may come out of order (two upstream subtasks): the latest one counts
          if (previous !== undefined && previous >= p.ts + 5000) return;
          if (previous !== undefined) ctx.timerService().deleteEventTimeTimer(previous);
          last.update(p.ts + 5000);
          ctx.timerService().registerEventTimeTimer(p.ts + 5000);
        },
        onTimer(timestamp, ctx: ProcessContext<string>, out: Output<string>) {
          if (ctx.timeDomain === 'event' && ctx.timestamp === timestamp) out.collect(`${ctx.currentKey} silent at ${timestamp}`);
        },
      })
      .sinkTo(new CollectSink(alerts));
    const client = await env.executeAsync('alerts');
    client.on('checkpoint-completed', () => completed++);
    const restored: Array<number | null> = [];
    client.on('running', ({ restoredFrom }) => restored.push(restoredFrom));
    const result = await client.getJobExecutionResult();
    t.equal(result.status, 'FINISHED');
    t.equal(result.restarts, 1, 'the failure happened');
    t.ok(typeof restored[1] === 'number', `the restart restored checkpoint ${restored[1]}: its timers came back from ${backend}`);
    // silent devices alert 5 s after their last ping; the others at the end of input (the maximum watermark)
    t.same(alerts.sort(), [
      'd0 silent at 14000',
      'd1 silent at 15000',
      'd2 silent at 16000',
      'd3 silent at 64000',
      'd4 silent at 64000',
      'd5 silent at 64000',
    ]);
  });
}

t.test('timers need a keyed stream and onTimer: coded errors', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  env
    .fromCollection([1])
    .keyBy((x) => x)
    .process({ processElement: (_x: number, ctx) => ctx.timerService().registerEventTimeTimer(5) })
    .sinkTo(new CollectSink([]));
  const e = await env.execute('no-ontimer').then(
    () => null,
    (x: unknown) => x,
  );
  t.match(JSON.stringify(e), /FLOE_TIMER_NO_ONTIMER/);
});

t.test('processing time: a timer fires on the clock, tumbling processing-time windows emit', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  const fired: string[] = [];
  env
    .fromSource(new WaitingSource(['a', 'b'], () => fired.length >= 2))
    .keyBy((x) => x)
    .process<string>({
      processElement(x, ctx) {
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 30);
        void x;
      },
      onTimer(ts, ctx, out) {
        out.collect(`${ctx.currentKey}:${ctx.timeDomain}:${ts > 0}`);
      },
    })
    .sinkTo(new CollectSink(fired));
  await env.execute('processing-timers');
  t.same(fired.sort(), ['a:processing:true', 'b:processing:true'], 'one processing-time timer per key fired');
  t.ok(TumblingProcessingTimeWindows.of('1s').isEventTime === false);
});

/** Emits `items`, then waits (idle) until `done()` says so: processing-time timers fire meanwhile. */
class WaitingSource implements Source<string> {
  readonly name = 'Waiting';
  constructor(
    readonly items: string[],
    readonly done: () => boolean,
  ) {}
  createReader(): SourceReader<string> {
    let i = 0;
    const started = Date.now();
    const { items, done } = this;
    return {
      open() {},
      poll(out: Output<string>): PollResult {
        if (i < items.length) {
          out.collect(items[i++]!);
          return 'more';
        }
        return done() || Date.now() - started > 10_000 ? 'end' : 'idle';
      },
      snapshotState() {},
    };
  }
}

/** Subtask 0 emits an event a second (event time) every 3 ms; subtask 1 one event at 0, then nothing until subtask 0 ended. */
class SkewedSource implements Source<Ping> {
  readonly name = 'Skewed';
  static done = false;
  createReader(): SourceReader<Ping> {
    let index = 0;
    let i = 0;
    let next = 0;
    let finishedAt = 0;
    return {
      open(ctx: OperatorContext) {
        index = ctx.subtaskIndex;
      },
      poll(out: Output<Ping>): PollResult {
        const now = Date.now();
        if (index === 0) {
          if (i >= 100) {
            SkewedSource.done = true;
            return 'end';
          }
          if (now < next) return 'idle';
          next = now + 3;
          out.collect({ device: 'x', ts: i++ * 1000 });
          return 'more';
        }
        if (i === 0) {
          i++;
          out.collect({ device: 'y', ts: 0 });
          return 'more';
        }
        if (!SkewedSource.done) return 'idle';
        finishedAt ||= now;
        return now - finishedAt > 50 ? 'end' : 'idle';
      },
      snapshotState() {},
    };
  }
}

for (const idleness of [true, false]) {
  t.test(`an idle split ${idleness ? 'does not hold event time back with' : 'holds event time back without'} withIdleness`, async (t) => {
    SkewedSource.done = false;
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 2,
      'pipeline.auto-watermark-interval': '10ms',
    });
    const base = WatermarkStrategy.forMonotonousTimestamps<Ping>().withTimestampAssigner((p) => p.ts);
    const firedBeforeEnd: boolean[] = [];
    env
      .fromSource(new SkewedSource(), idleness ? base.withIdleness('40ms') : base, 'skewed')
      .keyBy((p) => p.device)
      .window(TumblingEventTimeWindows.of('10s'))
      .reduce((a) => a)
      .map(() => !SkewedSource.done)
      .setParallelism(1)
      .sinkTo(new CollectSink(firedBeforeEnd));
    await env.execute('idleness');
    t.ok(firedBeforeEnd.length >= 10, `windows fired (${firedBeforeEnd.length})`);
    const early = firedBeforeEnd.filter(Boolean).length;
    if (idleness) t.ok(early > 0, `${early} windows fired while split 1 was idle`);
    else t.equal(early, 0, 'no window fired before split 1 ended: it held the watermark at 0');
  });
}
