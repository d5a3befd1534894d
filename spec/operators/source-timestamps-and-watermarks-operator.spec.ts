// fromSource(source, strategy): watermarks per split inside a source subtask, the minimum over its splits; idle and released splits do not count.
import t from 'tap';
import {
  CollectSink,
  MAX_WATERMARK,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type OperatorContext,
  type Output,
} from '../../src/index.ts';
import { RecordTimestamp } from '../../src/operators/event-time.ts';
import { SourceTimestampsAndWatermarksOperator } from '../../src/operators/source-timestamps-and-watermarks-operator.ts';
import { WatermarkOutputMultiplexer } from '../../src/operators/watermark-output-multiplexer.ts';
import { SplitSource } from '../fixtures/split-source.ts';

interface Event {
  split: string;
  ts: number;
}

const SEC = 1000;

/** The operator on its own, with a clock the spec moves, emitting into a log. */
function operator(strategy: WatermarkStrategy<Event>) {
  let now = 0;
  const log: string[] = [];
  const op = new SourceTimestampsAndWatermarksOperator<Event>(strategy, () => now);
  const out: Output<Event> = {
    collect: (e) => log.push(`${e.split}@${e.ts}`),
    emitWatermark: (ts) => log.push(`wm ${ts}`),
    emitWatermarkStatus: (s) => log.push(s),
  };
  op.open({ operatorUid: 'ts', elementTimestamp: new RecordTimestamp(), autoWatermarkInterval: 10 } as unknown as OperatorContext, out);
  /** the clock moves one interval on, and periodic emission runs */
  const tick = () => {
    now += 10;
    op.onProcessingTime(now);
  };
  return { op, log, tick };
}

const event = (split: string, ts: number): Event => ({ split, ts });
const bounded = () => WatermarkStrategy.forBoundedOutOfOrderness<Event>(0).withTimestampAssigner((e) => e.ts);

t.test('the operator: the minimum over the splits, only rising; a released split no longer counts', async (t) => {
  const { op, log, tick } = operator(bounded());
  const a = op.forSplit('a');
  const b = op.forSplit('b');
  t.equal(op.forSplit('a'), a, 'the same output for the same split');
  a.collect(event('a', 50 * SEC));
  b.collect(event('b', 10 * SEC));
  tick();
  t.same(log, ['a@50000', 'b@10000', 'wm 9999'], 'the slow split sets the watermark');
  log.length = 0;
  b.collect(event('b', 5 * SEC)); // out of order within b: b's own watermark does not fall
  a.collect(event('a', 60 * SEC));
  tick();
  t.same(log, ['b@5000', 'a@60000'], 'nothing new: b is where it was');
  log.length = 0;
  op.releaseSplit('b');
  t.same(log, ['wm 59999'], 'b released: a alone counts, at once');
  log.length = 0;
  op.forSplit('c');
  tick();
  t.same(log, [], 'a new split starts at the minimum: the watermark waits for it, never falls');
  op.releaseSplit('nope');
  op.endInput();
  t.same(log, [`wm ${MAX_WATERMARK}`], 'end of input: the maximum');
  op.close();
});

t.test('the operator: an idle split is excluded; every split idle marks the subtask idle', async (t) => {
  const { op, log, tick } = operator(bounded().withIdleness(25));
  const a = op.forSplit('a');
  const b = op.forSplit('b');
  a.collect(event('a', 1 * SEC));
  b.collect(event('b', 100 * SEC));
  tick();
  t.same(log.splice(0), ['a@1000', 'b@100000', 'wm 999']);
  for (let i = 0; i < 3; i++) {
    b.collect(event('b', (101 + i) * SEC));
    tick();
  }
  t.same(log.splice(0), ['b@101000', 'b@102000', 'b@103000', 'wm 102999'], 'a went idle: b alone counts');
  tick();
  tick();
  tick();
  t.same(log.splice(0), ['idle'], 'both idle: the subtask is idle');
  a.collect(event('a', 2 * SEC));
  t.same(log.splice(0), ['a@2000', 'active'], 'a record makes its split, and the subtask, active again');
  op.close();
});

t.test('the operator: a reader that never asks for a split output gets one generator for the subtask', async (t) => {
  const { op, log, tick } = operator(bounded());
  op.processElement(event('x', 5 * SEC));
  op.processElement(event('y', 1 * SEC));
  tick();
  t.same(log.splice(0), ['x@5000', 'y@1000', 'wm 4999'], 'the maximum seen, as assignTimestampsAndWatermarks');
  op.close();
});

t.test('the multiplexer: no outputs emit nothing; an output emitting a watermark is active again', async (t) => {
  const log: string[] = [];
  const mux = new WatermarkOutputMultiplexer({
    emitWatermark: (ts) => log.push(`wm ${ts}`),
    markIdle: () => log.push('idle'),
    markActive: () => log.push('active'),
  });
  mux.periodic(() => {});
  t.same(log, []);
  const a = mux.register('a');
  t.ok(mux.has('a'));
  a.markIdle();
  a.emitWatermark(7);
  t.same(log, ['idle', 'active', 'wm 7']);
  t.equal(mux.currentWatermark, 7);
  mux.unregister('a');
  t.equal(mux.size, 0);
  t.equal(mux.currentWatermark, 7, 'the combined watermark never falls');
});

// ---- in a job: two splits in ONE source subtask ----

/**
 * Counts per split and 10 s window, as 'split start count' strings; `fired` sees them as the windows
 * fire (the collect sink hands its records over when the job ends).
 */
function windowed(
  source: SplitSource<Event>,
  strategy: WatermarkStrategy<Event>,
  perSubtask: boolean,
  out: string[],
  fired: string[] = [],
) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1, 'pipeline.auto-watermark-interval': 1 });
  const stream = perSubtask ? env.fromSource(source).assignTimestampsAndWatermarks(strategy) : env.fromSource(source, strategy, 'splits');
  stream
    .keyBy((e) => e.split)
    .window(TumblingEventTimeWindows.of('10s'))
    .process((key, context, elements, o) => {
      const line = `${key} ${context.window.start} ${[...elements].length}`;
      fired.push(line);
      o.collect(line);
    })
    .sinkTo(new CollectSink(out));
  return env;
}

/** split a 10× faster than b: a's 60 s of events are through while b is at 6 s */
function fastAndSlow(): { splits: Record<string, Event[]>; order: string[] } {
  const splits = { a: [] as Event[], b: [] as Event[] };
  for (let i = 0; i < 60; i++) {
    splits.a.push(event('a', i * SEC));
    splits.b.push(event('b', i * SEC));
  }
  const order: string[] = [];
  for (let i = 0; i < 60; i++) {
    if (i < 6) order.push(...Array<string>(10).fill('a'));
    order.push('b');
  }
  return { splits, order };
}

const allWindows = (splits: string[]) => splits.flatMap((s) => [0, 1, 2, 3, 4, 5].map((w) => `${s} ${w * 10 * SEC} 10`)).sort();

t.test('a split far ahead in event time does not make a slow split of the same subtask late', async (t) => {
  const out: string[] = [];
  const source = new SplitSource<Event>(fastAndSlow());
  const env = windowed(
    source,
    WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts),
    false,
    out,
  );
  t.equal((await env.execute('fast and slow split')).status, 'FINISHED');
  t.ok(source.log.perSplit, 'the reader was given an output per split');
  t.same(out.sort(), allWindows(['a', 'b']), 'every window complete: no record of b was late');
});

t.test('assignTimestampsAndWatermarks stays per subtask: there the fast split makes the slow one late (as Flink)', async (t) => {
  const out: string[] = [];
  const source = new SplitSource<Event>(fastAndSlow());
  const env = windowed(
    source,
    WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts),
    true,
    out,
  );
  t.equal((await env.execute('per subtask')).status, 'FINISHED');
  t.notOk(source.log.perSplit, 'no output per split');
  const b = out.filter((line) => line.startsWith('b '));
  t.ok(b.length < 6 || b.some((line) => !line.endsWith(' 10')), `records of b were dropped as late: ${b.join(', ')}`);
});

/** b emits three events early, then nothing more (silent, or finished and released); a goes on to 60 s. */
function silentSplit(release: boolean, endWhen: () => boolean) {
  const splits = { a: [] as Event[], b: [0, 1, 2].map((i) => event('b', i * SEC)) };
  for (let i = 0; i < 60; i++) splits.a.push(event('a', i * SEC));
  return new SplitSource<Event>({ splits, order: ['b', 'b', 'b', ...Array<string>(60).fill('a')], release, endWhen });
}

/**
 * Runs the job; the source stays open after its records until a's window [40 s, 50 s) fired (then the
 * watermark passed it before the end of input) or `patience` ms passed. Returns whether it fired first.
 */
async function firesBeforeTheEnd(release: boolean, strategy: WatermarkStrategy<Event>, patience: number): Promise<boolean> {
  const fired: string[] = [];
  let firedFirst = false;
  const deadline = Date.now() + patience;
  const source = silentSplit(release, () => (firedFirst = fired.includes(`a ${40 * SEC} 10`)) || Date.now() > deadline);
  const result = await windowed(source, strategy, false, [], fired).execute('silent split');
  if (result.status !== 'FINISHED') throw new Error(`job ${result.status}`);
  return firedFirst;
}

const twoSeconds = () => WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts);

t.test('a split gone idle (withIdleness) does not hold the subtask watermark back', async (t) => {
  t.ok(await firesBeforeTheEnd(false, twoSeconds().withIdleness('20ms'), 30_000), "a's windows fired while b was silent");
});

t.test('a finished (released) split no longer counts', async (t) => {
  t.ok(await firesBeforeTheEnd(true, twoSeconds(), 30_000), "a's windows fired after b finished");
});

t.test('a silent split that is neither idle nor released holds the subtask watermark back (until the end of input)', async (t) => {
  t.notOk(await firesBeforeTheEnd(false, twoSeconds(), 300), 'nothing fired before the end');
});
