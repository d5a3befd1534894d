// Event time made visible: floe run's checkpoint lines carry the job's low watermark and the late records dropped; the inspector's task snapshots carry each task's watermarks.
import type { InspectionEvent } from 'xstate';
import t from 'tap';
import { attachReporter, formatEventTime, formatWatermark } from '../../src/cli/reporter.ts';
import {
  CollectSink,
  MAX_WATERMARK,
  MIN_WATERMARK,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type WatermarkGenerator,
} from '../../src/index.ts';
import type { TaskMetricsSample } from '../../src/checkpoint/control-messages.ts';

const BASE = 1_700_000_040_000; // a minute boundary

const sample = (s: Partial<TaskMetricsSample>): TaskMetricsSample => ({
  recordsIn: 0,
  recordsOut: 0,
  backpressured: false,
  busyTimeMsPerSecond: 0,
  backPressuredTimeMsPerSecond: 0,
  idleTimeMsPerSecond: 1000,
  sampledAt: 0,
  ...s,
});

t.test('the event-time part of a progress line: the lowest input watermark among tasks that have one, late records dropped', async (t) => {
  t.equal(formatEventTime([]), '', 'no tasks, nothing');
  t.equal(
    formatEventTime([sample({}), sample({ currentInputWatermark: null, currentOutputWatermark: MIN_WATERMARK })]),
    '',
    'a job without event time: its lines stay as they were',
  );
  t.equal(
    formatEventTime([
      sample({ currentInputWatermark: null }),
      sample({ currentInputWatermark: BASE + 5000 }),
      sample({ currentInputWatermark: BASE + 1000, numLateRecordsDropped: 2 }),
      sample({ currentInputWatermark: MIN_WATERMARK, numLateRecordsDropped: 1 }),
    ]),
    `, watermark ${new Date(BASE + 1000).toISOString()}, 3 late records dropped`,
  );
  t.equal(formatWatermark(MAX_WATERMARK), 'end of input');
  t.equal(formatWatermark(42), '1970-01-01T00:00:00.042Z');
});

/** A watermark after every event: lateness is exact whatever the batching. */
function punctuated<T extends { ts: number }>(): WatermarkGenerator<T> {
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
  'floe run prints the watermark and the late records dropped with its checkpoints; inspector snapshots hold the watermarks',
  async (t) => {
    // one event per 100 ms of event time for 10 minutes, and 5 records far too late early on
    const events: Array<{ k: number; ts: number }> = [];
    for (let i = 0; i < 6000; i++) {
      events.push({ k: i % 10, ts: BASE + i * 100 });
      if (i === 1000) for (let j = 0; j < 5; j++) events.push({ k: j, ts: BASE + j });
    }
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'execution.checkpointing.interval': '100ms',
    });
    const snapshots: Array<{ id: string; metrics: TaskMetricsSample }> = [];
    env.setInspector((e: InspectionEvent) => {
      const context = e.type === '@xstate.snapshot' ? (e.snapshot as { context?: { metrics?: TaskMetricsSample } }).context : undefined;
      if (context?.metrics) snapshots.push({ id: (e.actorRef as { id?: string }).id ?? '', metrics: context.metrics });
    });
    const counts: number[] = [];
    env
      .fromCollection(events)
      .map((e) => {
        // slow enough for the tasks' metrics samples (one a second) to go out while the job runs
        const until = performance.now() + 0.3;
        while (performance.now() < until);
        return e;
      })
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forGenerator(punctuated<{ k: number; ts: number }>).withTimestampAssigner((e) => e.ts),
      )
      .keyBy((e) => e.k)
      .window(TumblingEventTimeWindows.of('1 min'))
      .aggregate({ createAccumulator: () => 0, add: (_e, n: number) => n + 1, getResult: (n) => n })
      .sinkTo(new CollectSink(counts));
    const client = await env.executeAsync('progress');
    const lines: string[] = [];
    attachReporter(client, { write: (l) => lines.push(l) });
    const result = await client.getJobExecutionResult();
    t.equal(result.status, 'FINISHED');
    t.equal(
      counts.reduce((a, b) => a + b, 0),
      6000,
      'every record in time is counted; the 5 late ones are not',
    );
    const checkpointLines = lines.filter((l) => /^checkpoint \d+ completed/.test(l));
    t.ok(
      checkpointLines.some((l) => /, watermark 2023-11-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/.test(l)),
      `a checkpoint line with the watermark:\n${checkpointLines.slice(-3).join('\n')}`,
    );
    t.ok(
      checkpointLines.some((l) => l.endsWith(', 5 late records dropped')),
      'and the late records dropped',
    );
    const windowTask = snapshots.filter((s) => s.id.startsWith('Window'));
    t.ok(
      windowTask.some((s) => typeof s.metrics.currentInputWatermark === 'number' && s.metrics.currentInputWatermark > BASE),
      "the window task's snapshots hold its input watermark",
    );
    t.ok(
      windowTask.some((s) => s.metrics.numLateRecordsDropped === 5),
      'and its late records dropped',
    );
    const sourceTask = snapshots.filter((s) => s.id.startsWith('Collection Source'));
    t.ok(
      sourceTask.some((s) => s.metrics.currentInputWatermark === null && (s.metrics.currentOutputWatermark ?? MIN_WATERMARK) > BASE),
      'a source has no input watermark, an output one',
    );
  },
);
