// End to end: watermarks from a strategy, tumbling event-time windows firing on real data, late data to a side output.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  CollectSink,
  FileSink,
  OutputTag,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type WatermarkGenerator,
} from '../../src/index.ts';
import { generateEvents, tumblingCounts, type Event } from '../fixtures/events.ts';

const MIN = 60_000;

function readLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

t.test('the README job: per-user counts per minute, each window once, in file output', async (t) => {
  const events = generateEvents(6000, { disorder: 1500 });
  const dir = t.testdir({ 'events.jsonl': events.map((e) => JSON.stringify(e)).join('\n') + '\n' });
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2, 'execution.checkpointing.interval': '50ms' });
  const late = new OutputTag<Event>('late');
  const counts = env
    .readTextFile(join(dir, 'events.jsonl'))
    .map((l: string) => JSON.parse(l) as Event)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts))
    .keyBy((e) => e.user)
    .window(TumblingEventTimeWindows.of('1 min'))
    .allowedLateness('10s')
    .sideOutputLateData(late)
    .process((key, context, elements, out) => out.collect({ key, start: context.window.start, n: [...elements].length }));
  counts.sinkTo(new FileSink(join(dir, 'out')));
  counts.getSideOutput(late).sinkTo(new FileSink(join(dir, 'late')));
  const result = await env.execute('windows');
  t.equal(result.status, 'FINISHED');
  t.same(readLines(join(dir, 'out')).sort(), tumblingCounts(events, MIN), 'every window of every user once, with all its events');
  t.same(readLines(join(dir, 'late')), [], 'nothing late: the disorder (1.5 s) is within the bound (2 s)');
});

t.test(
  'with only the final checkpoint (interval 1h), the windows the end of input fires are in it: the job finishes, every window committed once',
  async (t) => {
    // the sources' maximum watermark goes out ahead of the final checkpoint's barrier: the windows it fires are
    // snapshotted and committed by that checkpoint, and no task downstream waits for a later one that never comes
    const events = generateEvents(3000, { users: 10, disorder: 1500, seed: 21 });
    const dir = t.testdir({ 'events.jsonl': events.map((e) => JSON.stringify(e)).join('\n') + '\n' });
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 2,
      'execution.checkpointing.interval': '1h',
      'state.backend.type': 'fs',
      'state.checkpoints.dir': join(dir, 'checkpoints'),
    });
    env
      .readTextFile(join(dir, 'events.jsonl'))
      .map((l: string) => JSON.parse(l) as Event)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts))
      .keyBy((e) => e.user)
      .window(TumblingEventTimeWindows.of('1 min'))
      .process((key: string, context, elements, out) => out.collect({ key, start: context.window.start, n: [...elements].length }))
      .rebalance()
      .map((r) => JSON.stringify(r))
      .sinkTo(new FileSink(join(dir, 'out')));
    const result = await env.execute('final-checkpoint-windows');
    t.equal(result.status, 'FINISHED');
    t.same(readLines(join(dir, 'out')).sort(), tumblingCounts(events, MIN), 'every window once, committed by the final checkpoint');
  },
);

/** A watermark after every event (punctuated): the window operator sees event time advance record by record, so lateness is exact. */
function punctuated(): WatermarkGenerator<Event> {
  let max = -Infinity;
  return {
    onEvent(_e, ts, out) {
      if (ts > max) max = ts;
      out.emitWatermark(max - 1);
    },
    onPeriodicEmit() {},
  };
}

t.test(
  'late data: within allowed lateness the window fires again with it; beyond it goes to the side output, never lost or counted twice',
  async (t) => {
    const base = 1_700_000_040_000; // a minute boundary (divisible by 60 000)
    const ev = (user: string, offsetMs: number, n: number): Event => ({ user, ts: base + offsetMs, n });
    const input = [
      ev('a', 1_000, 1),
      ev('a', 30_000, 2),
      ev('a', 61_000, 3), // watermark passes the end of [0, 60 s): the window fires with 2 events
      ev('a', 50_000, 4), // late by 11 s, within the allowed lateness of 20 s: fires again with 3
      ev('a', 85_000, 5), // watermark 85 s: [0, 60 s) is now 25 s behind, past its lateness: cleaned up
      ev('a', 10_000, 6), // too late: side output
      ev('b', 20_000, 7), // another key, too late too: side output
    ];
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
    const late = new OutputTag<Event>('late');
    const results: Array<{ key: string; start: number; ns: number[]; watermark: number }> = [];
    const lateOut: Event[] = [];
    const windows = env
      .fromCollection(input)
      .assignTimestampsAndWatermarks(WatermarkStrategy.forGenerator(punctuated).withTimestampAssigner((e) => e.ts))
      .keyBy((e) => e.user)
      .window(TumblingEventTimeWindows.of('1 min'))
      .allowedLateness('20s')
      .sideOutputLateData(late)
      .process((key: string, context, elements, out) =>
        out.collect({ key, start: context.window.start - base, ns: [...elements].map((e) => e.n), watermark: context.currentWatermark }),
      );
    windows.sinkTo(new CollectSink(results));
    windows.getSideOutput(late).sinkTo(new CollectSink(lateOut));
    await env.execute('late-data');
    t.same(
      results.map(({ key, start, ns }) => ({ key, start, ns })),
      [
        { key: 'a', start: 0, ns: [1, 2] },
        { key: 'a', start: 0, ns: [1, 2, 4] },
        { key: 'a', start: 60_000, ns: [3, 5] },
      ],
    );
    t.same(
      lateOut.map((e) => e.n),
      [6, 7],
      'the records too late, each once',
    );
  },
);

t.test('reduce and aggregate windows, and bad input with coded errors', async (t) => {
  const events = generateEvents(3000, { users: 5, disorder: 800, seed: 11 });
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 3 });
  const reduced: Array<[string, number]> = [];
  const aggregated: Array<{ user: string; n: number }> = [];
  const stamped = env
    .fromCollection(events)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>(1000).withTimestampAssigner((e) => e.ts))
    .map((e: Event) => [e.user, 1] as [string, number]);
  stamped
    .keyBy((x) => x[0])
    .window(TumblingEventTimeWindows.of(MIN))
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .sinkTo(new CollectSink(reduced));
  stamped
    .keyBy((x) => x[0])
    .window(TumblingEventTimeWindows.of(MIN))
    .aggregate({ createAccumulator: () => ({ user: '', n: 0 }), add: (x, acc) => ({ user: x[0], n: acc.n + 1 }), getResult: (acc) => acc })
    .sinkTo(new CollectSink(aggregated));
  await env.execute('reduce-aggregate');
  const expected = tumblingCounts(events, MIN)
    .map((l) => {
      const { key, n } = JSON.parse(l) as { key: string; n: number };
      return `${key}:${n}`;
    })
    .sort();
  t.same(reduced.map(([u, n]) => `${u}:${n}`).sort(), expected, 'reduce: one result per window');
  t.same(aggregated.map(({ user, n }) => `${user}:${n}`).sort(), expected, 'aggregate: one result per window');

  t.throws(() => TumblingEventTimeWindows.of(0), { code: 'FLOE_WINDOW_SIZE' });
  t.throws(() => TumblingEventTimeWindows.of('-1 min'), { code: 'FLOE_WINDOW_SIZE' });
  t.throws(() => TumblingEventTimeWindows.of(-5), { code: 'FLOE_WINDOW_SIZE' });
  const { SlidingEventTimeWindows } = await import('../../src/index.ts');
  t.throws(() => SlidingEventTimeWindows.of('10s', '1 min'), { code: 'FLOE_WINDOW_SLIDE' });
  const bad = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  t.throws(
    () =>
      bad
        .fromCollection([1])
        .keyBy((x) => x)
        .window(TumblingEventTimeWindows.of('1s'))
        .allowedLateness(-1),
    { code: 'FLOE_NEGATIVE_DURATION' },
  );
  bad
    .fromCollection<{ ts: unknown }>([{ ts: 1 }, { ts: 'soon' }])
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forMonotonousTimestamps<{ ts: unknown }>().withTimestampAssigner((e) => e.ts as number),
    )
    .sinkTo(new CollectSink([]));
  const failed = await bad.execute('bad-timestamp').then(
    () => null,
    (e: unknown) => e,
  );
  t.match(String((failed as Error)?.message ?? ''), /timestamp/, 'a job with a bad timestamp fails');
  t.match(JSON.stringify(failed), /FLOE_BAD_TIMESTAMP/, 'with the timestamp code');
  writeFileSync(join(t.testdir(), 'x'), '');
});

t.test('sliding and session windows on event time', async (t) => {
  const { SlidingEventTimeWindows, EventTimeSessionWindows } = await import('../../src/index.ts');
  const base = 1_700_000_040_000;
  // key a: events at 0, 1, 2 s then 10, 11 s; key b: 0 and 3.5 s (farther apart than the gap)
  const input: Event[] = [
    { user: 'a', ts: base, n: 1 },
    { user: 'b', ts: base, n: 2 },
    { user: 'a', ts: base + 1000, n: 3 },
    { user: 'a', ts: base + 2000, n: 4 },
    { user: 'b', ts: base + 3500, n: 5 },
    { user: 'a', ts: base + 10_000, n: 6 },
    { user: 'a', ts: base + 11_000, n: 7 },
    // exactly a gap apart: one session (windows that touch merge, as Flink's)
    { user: 'c', ts: base + 20_000, n: 8 },
    { user: 'c', ts: base + 23_000, n: 9 },
  ];
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 2 });
  const sessions: string[] = [];
  const sliding: string[] = [];
  const stamped = env
    .fromCollection(input)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>('1s').withTimestampAssigner((e) => e.ts));
  stamped
    .keyBy((e) => e.user)
    .window(EventTimeSessionWindows.withGap('3s'))
    .process((key: string, ctx, elements, out) =>
      out.collect(
        `${key} [${ctx.window.start - base}, ${ctx.window.end - base}) ${[...elements]
          .map((e) => e.n)
          .sort()
          .join(',')}`,
      ),
    )
    .sinkTo(new CollectSink(sessions));
  stamped
    .keyBy((e) => e.user)
    .window(SlidingEventTimeWindows.of('4s', '2s'))
    .aggregate({ createAccumulator: () => 0, add: (_e, n: number) => n + 1, getResult: (n) => n, merge: (a, b) => a + b })
    .map(String)
    .sinkTo(new CollectSink(sliding));
  await env.execute('sliding-session');
  t.same(
    sessions.sort(),
    ['a [0, 5000) 1,3,4', 'a [10000, 14000) 6,7', 'b [0, 3000) 2', 'b [3500, 6500) 5', 'c [20000, 26000) 8,9'],
    'sessions merge events at most the gap apart, not farther',
  );
  // a's windows of 4 s every 2 s: [-2,2):2 [0,4):3 [2,6):1 [8,12):2 [10,14):2 ; b: [-2,2):1 [0,4):2 [2,6):1 ; c: [18,22):1 [20,24):2 [22,26):1
  t.same(
    sliding.map(Number).sort((x, y) => x - y),
    [1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3],
    'every sliding window of every key',
  );
});
