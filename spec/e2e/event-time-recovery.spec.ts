// End to end: event-time windows and their timers survive failures (every backend, aligned and unaligned) and a stop with a savepoint restored at another parallelism on another backend.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { FileSink, StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy, type JobClient } from '../../src/index.ts';
import { generateEvents, tumblingCounts, type Event } from '../fixtures/events.ts';

const SIZE = 10_000;
const EVENTS = generateEvents(8000, { users: 30, disorder: 1500, seed: 3 });
const EXPECTED = tumblingCounts(EVENTS, SIZE);
const INPUT = EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n';

function backendConfig(name: string, dir: string): Record<string, unknown> {
  const files = { 'state.checkpoints.dir': join(dir, 'checkpoints'), 'state.storage.fs.memory-threshold': '0b' };
  switch (name) {
    case 'memory':
      return { 'state.backend.type': 'memory' };
    case 'fs':
      return { 'state.backend.type': 'fs', ...files };
    default:
      return { 'state.backend.type': 'level', 'state.backend.incremental': true, 'state.backend.level.localdir': join(dir, `level-${Math.random().toString(36).slice(2)}`), ...files };
  }
}

function visible(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

interface RunOptions {
  backend: string;
  parallelism: number;
  config?: Record<string, unknown>;
  /** subtask 0 of the slow map throws once in attempt 0 after this many checkpoints completed */
  failAfter?: number;
  slowMs?: number;
}

function windowJob(t: Test, dir: string, options: RunOptions, hooks: { completed: () => number }) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': options.parallelism,
    'execution.checkpointing.interval': '40ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 3,
    'restart-strategy.fixed-delay.delay': '10ms',
    'pipeline.auto-watermark-interval': '20ms',
    ...backendConfig(options.backend, dir),
    ...options.config,
  });
  let thrown = false;
  env
    .readTextFile(join(dir, 'events.jsonl')).uid('source')
    .map((l: string, ctx) => {
      const until = performance.now() + (options.slowMs ?? 0.05);
      while (performance.now() < until);
      if (options.failAfter !== undefined && !thrown && ctx.attemptNumber === 0 && ctx.subtaskIndex === 0 && hooks.completed() >= options.failAfter) {
        thrown = true;
        throw new Error('injected failure');
      }
      return JSON.parse(l) as Event;
    }).uid('parse')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Event>('2s').withTimestampAssigner((e) => e.ts)).uid('timestamps')
    .keyBy((e) => e.user)
    .window(TumblingEventTimeWindows.of(SIZE))
    .aggregate({ createAccumulator: () => ({ key: '', start: 0, n: 0 }), add: (e, a) => ({ key: e.user, start: e.ts - (e.ts % SIZE), n: a.n + 1 }), getResult: (a) => a })
    .uid('windows')
    .map((r) => JSON.stringify(r)).uid('format')
    .sinkTo(new FileSink(join(dir, 'out'))).uid('sink');
  t.teardown(() => undefined);
  return env;
}

for (const [backend, unaligned] of [['memory', false], ['fs', false], ['level', false], ['level', true], ['memory', true]] as const) {
  t.test(`${backend}${unaligned ? ', unaligned' : ''}: a failure mid-run, every window's count exactly once`, async (t) => {
    const dir = t.testdir({ 'events.jsonl': INPUT });
    let completed = 0;
    const env = windowJob(t, dir, { backend, parallelism: 2, failAfter: 3, config: unaligned ? { 'execution.checkpointing.unaligned': true } : {} }, { completed: () => completed });
    const client: JobClient = await env.executeAsync(`windows-${backend}`);
    const restored: Array<number | null> = [];
    client.on('checkpoint-completed', () => completed++);
    client.on('running', ({ restoredFrom }) => restored.push(restoredFrom));
    const result = await client.getJobExecutionResult();
    t.equal(result.status, 'FINISHED');
    t.equal(result.restarts, 1, 'the injected failure restarted the job');
    t.ok(restored[1] !== null && restored[1] !== undefined, `the restart restored checkpoint ${restored[1]}`);
    const lines = visible(join(dir, 'out')).sort();
    t.equal(lines.length, EXPECTED.length, 'one line per user and window');
    t.same(lines, EXPECTED, 'every window once, with its exact count');
  });
}

for (const { from, to, fromBackend, toBackend } of [
  { from: 2, to: 3, fromBackend: 'memory', toBackend: 'level' },
  { from: 4, to: 1, fromBackend: 'level', toBackend: 'fs' },
]) {
  t.test(`stop with a savepoint while windows and timers are pending (${fromBackend}, parallelism ${from}), resume on ${toBackend} at ${to}: the output of a run without the stop`, async (t) => {
    const dir = t.testdir({ 'events.jsonl': INPUT });
    let completed = 0;
    const first = windowJob(t, dir, { backend: fromBackend, parallelism: from, slowMs: 0.1, config: { 'state.savepoints.dir': join(dir, 'savepoints') } }, { completed: () => completed });
    const client = await first.executeAsync('windows');
    await new Promise<void>((resolve) => client.on('checkpoint-completed', () => ++completed === 2 && resolve()));
    const path = await client.stopWithSavepoint(join(dir, 'savepoints'));
    t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
    const partial = visible(join(dir, 'out')).length;
    t.ok(partial < EXPECTED.length, `stopped in the middle (${partial} of ${EXPECTED.length} windows out)`);
    const second = windowJob(t, dir, { backend: toBackend, parallelism: to, slowMs: 0, config: { 'execution.savepoint.path': path } }, { completed: () => 0 });
    const resumed = await (await second.executeAsync('windows')).getJobExecutionResult();
    t.equal(resumed.status, 'FINISHED');
    t.same(visible(join(dir, 'out')).sort(), EXPECTED, 'every window once across both runs');
  });
}
