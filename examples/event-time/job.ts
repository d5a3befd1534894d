// Counts per user and minute in event time, the README's event-time job: `npx floe run examples/event-time/job.ts`.
// Results land in examples/event-time/counts/, records too late for their window in examples/event-time/late/;
// `node --import=tsx examples/event-time/check.ts` checks that every event is in exactly one of them.
import { fileURLToPath } from 'node:url';
import { FileSink, OutputTag, TumblingEventTimeWindows, WatermarkStrategy, type StreamExecutionEnvironment } from 'floe';
import type { Event } from './generate.ts';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default function job(env: StreamExecutionEnvironment) {
  const late = new OutputTag<Event>('late');
  const counts = env
    .readTextFile(here('events.jsonl'))
    .uid('source')
    .map((l: string) => JSON.parse(l) as Event)
    .uid('parse')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts))
    .uid('timestamps')
    .keyBy((e) => e.user)
    .window(TumblingEventTimeWindows.of('1 min'))
    .allowedLateness('10s')
    .sideOutputLateData(late)
    .process((key, context, elements, out) => out.collect({ key, start: context.window.start, n: [...elements].length }))
    .uid('counts');
  counts.sinkTo(new FileSink(here('counts/'))).uid('counts-sink');
  counts
    .getSideOutput(late)
    .sinkTo(new FileSink(here('late/')))
    .uid('late-sink');
}
