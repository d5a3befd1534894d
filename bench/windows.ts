// Windows and timers: tumbling one-minute event-time windows in floe against a plain loop doing the same windowing with a Map per window; keyed event-time timers per backend.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamExecutionEnvironment, TumblingEventTimeWindows, WatermarkStrategy, type Sink, type StreamOperator } from '../src/index.ts';
import { keyGroupRangeForSubtask } from '../src/backends/key-groups.ts';
import { createStateBackend } from '../src/backends/state-backend-registry.ts';
import { InternalTimerService } from '../src/operators/internal-timer-service.ts';
import { FileTaskStateStorage } from '../spec/helpers/file-task-state-storage.ts';
import { printTable, writeResults } from './report.ts';

const KEYS = Number(process.env.FLOE_BENCH_KEYS ?? 1_000_000);
const EVENTS = Number(process.env.FLOE_BENCH_EVENTS ?? 2_000_000);
const TIMERS = (process.env.FLOE_BENCH_TIMERS ?? '1000000').split(',').map(Number);
/** heap backends only up to this many timers (10M on the heap would exhaust it) */
const TIMERS_HEAP_MAX = Number(process.env.FLOE_BENCH_TIMERS_HEAP_MAX ?? 1_000_000);
const MINUTE = 60_000;
const BASE = 1_700_000_000_000;
// events spread over 10 minutes of event time, keys cycling: every window holds each key a few times
const STEP = (10 * MINUTE) / EVENTS;
const event = (i: number) => ({ k: i % KEYS, ts: BASE + Math.floor(i * STEP) });

/** The plain loop: a Map of key → count per window start; a window is emitted and dropped when the watermark (max ts − 1) passes its end. */
function plainLoop(): { ms: number; results: number } {
  const t0 = performance.now();
  const windows = new Map<number, Map<number, number>>();
  let results = 0;
  let watermark = -Infinity;
  const fire = (upTo: number) => {
    for (const [start, counts] of windows) {
      if (start + MINUTE - 1 > upTo) continue;
      for (const [k, n] of counts) if (k >= 0 && n > 0) results++;
      windows.delete(start);
    }
  };
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i);
    const start = e.ts - (e.ts % MINUTE);
    let w = windows.get(start);
    if (!w) windows.set(start, (w = new Map()));
    w.set(e.k, (w.get(e.k) ?? 0) + 1);
    if (e.ts - 1 > watermark) {
      watermark = e.ts - 1;
      if ((i & 1023) === 0) fire(watermark);
    }
  }
  fire(Infinity);
  return { ms: performance.now() - t0, results };
}

class CountingSink implements Sink<unknown> {
  readonly name = 'Count';
  static count = 0;
  createWriter(): StreamOperator<unknown, never> {
    return { open() {}, processElement: () => void CountingSink.count++ };
  }
}

async function floe(): Promise<{ ms: number; results: number }> {
  CountingSink.count = 0;
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1, 'state.backend.type': 'memory' });
  env
    .fromSequence(0, EVENTS - 1)
    .map(event)
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forMonotonousTimestamps<{ k: number; ts: number }>().withTimestampAssigner((e) => e.ts),
    )
    .keyBy((e) => e.k)
    .window(TumblingEventTimeWindows.of('1 min'))
    .aggregate({ createAccumulator: () => 0, add: (_e, n: number) => n + 1, getResult: (n) => n })
    .sinkTo(new CountingSink());
  const t0 = performance.now();
  await env.execute('windows-bench');
  return { ms: performance.now() - t0, results: CountingSink.count };
}

type TimersCase = {
  backend: string;
  timers: number;
  'register ms': number;
  'fire ms': number;
  'CPU s': string;
  fired: number;
  'heap MB after register': string;
};

/** One timers case, in a process of its own (started with --expose-gc): its heap is its own. */
async function timers(backendName: 'memory' | 'fs' | 'level', count: number): Promise<TimersCase> {
  const dir = mkdtempSync(join(tmpdir(), 'floe-timers-'));
  const preset = createStateBackend(backendName, { localDir: join(dir, 'local') });
  const b = preset.createKeyedBackend({
    jobId: 'bench',
    operatorUid: 'timers',
    subtaskIndex: 0,
    maxParallelism: 128,
    keyGroupRange: keyGroupRangeForSubtask(128, 1, 0),
    storage: new FileTaskStateStorage(join(dir, 'checkpoints')),
  });
  let fired = 0;
  const s = new InternalTimerService('bench', b, { onEventTime: () => void fired++, onProcessingTime: () => {} });
  s.restore();
  const gc = global.gc ?? (() => {});
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    b.setCurrentKey(i % 100_000);
    s.registerEventTimeTimer(BASE + i);
    if ((i & 511) === 511) await b.endBatch();
  }
  await b.endBatch();
  const registered = performance.now();
  gc();
  const heap = process.memoryUsage().heapUsed - heap0;
  await s.advanceWatermark(Number.MAX_SAFE_INTEGER);
  await b.endBatch();
  const done = performance.now();
  const cpu = process.cpuUsage(cpu0);
  await b.dispose();
  rmSync(dir, { recursive: true, force: true });
  return {
    backend: backendName,
    timers: count,
    'register ms': Math.round(registered - t0),
    'fire ms': Math.round(done - registered),
    'CPU s': ((cpu.user + cpu.system) / 1e6).toFixed(1),
    fired,
    'heap MB after register': (heap / 1e6).toFixed(1),
  };
}

const CASE_FLAG = '--timers-case';
if (process.argv.includes(CASE_FLAG)) {
  const [name, count] = process.argv[process.argv.indexOf(CASE_FLAG) + 1]!.split(':');
  console.log(JSON.stringify(await timers(name as 'memory' | 'fs' | 'level', Number(count))));
  process.exit(0);
}

console.log(
  `tumbling 1-min windows: ${EVENTS.toLocaleString()} events over ${KEYS.toLocaleString()} keys, parallelism 1, memory backend\n`,
);
const rounds = Number(process.env.FLOE_BENCH_RUNS ?? 3);
const loopMs: number[] = [];
const floeMs: number[] = [];
let resultsLoop = 0;
let resultsFloe = 0;
for (let r = 0; r < rounds; r++) {
  const l = plainLoop();
  const f = await floe();
  loopMs.push(l.ms);
  floeMs.push(f.ms);
  resultsLoop = l.results;
  resultsFloe = f.results;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const windowRows = [
  {
    case: 'plain loop (Map per window)',
    'median ms': median(loopMs).toFixed(0),
    'events/s': Math.round(EVENTS / (median(loopMs) / 1000)).toLocaleString(),
    results: resultsLoop,
  },
  {
    case: 'floe TumblingEventTimeWindows',
    'median ms': median(floeMs).toFixed(0),
    'events/s': Math.round(EVENTS / (median(floeMs) / 1000)).toLocaleString(),
    results: resultsFloe,
  },
];
printTable(windowRows);
const ratio = median(loopMs) / median(floeMs);
console.log(
  `\nfloe / plain loop throughput ratio: ${ratio.toFixed(3)} (issue target ≥ 0.5)${resultsLoop === resultsFloe ? '' : ' — RESULT COUNTS DIFFER'}\n`,
);

console.log(
  'event-time timers: registered over 100 000 keys, then all fired by one watermark; each case in a process of its own (--expose-gc)\n',
);
const timerRows: TimersCase[] = [];
const script = fileURLToPath(import.meta.url);
for (const count of TIMERS) {
  for (const name of ['memory', 'fs', 'level'] as const) {
    if (name !== 'level' && count > TIMERS_HEAP_MAX) continue;
    const argv = [
      '--expose-gc',
      '--max-old-space-size=8192',
      '--conditions=floe-source',
      '--import=tsx',
      script,
      CASE_FLAG,
      `${name}:${count}`,
    ];
    const out = execFileSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
    timerRows.push(JSON.parse(out.trim().split('\n').pop()!) as TimersCase);
  }
}
printTable(timerRows);
const levelRows = timerRows.filter((r) => r.backend === 'level');
const memoryRow = timerRows.find((r) => r.backend === 'memory');
const first = levelRows[0];
const last = levelRows[levelRows.length - 1];
if (first && last && last !== first) {
  console.log(
    `\nlevel heap after register: ${first['heap MB after register']} MB at ${first.timers.toLocaleString()} timers, ${last['heap MB after register']} MB at ${last.timers.toLocaleString()} (${(last.timers / first.timers).toFixed(0)}x the timers)`,
  );
}
const levelAtMemory = memoryRow && levelRows.find((r) => r.timers === memoryRow.timers);
if (memoryRow && levelAtMemory) {
  console.log(
    `level / memory at ${memoryRow.timers.toLocaleString()} timers: heap ${(Number(levelAtMemory['heap MB after register']) / Number(memoryRow['heap MB after register'])).toFixed(3)}, CPU ${(Number(levelAtMemory['CPU s']) / Number(memoryRow['CPU s'])).toFixed(1)}x`,
  );
}
console.log(
  '\n(memory and fs keep every pending timer in a heap queue on the JS heap; level keeps them in LevelDB, a row per timer plus an index by time, with only the earliest 4096 on the heap: its heap stays flat as timers grow)',
);
console.log(`results: ${writeResults('windows', { events: EVENTS, keys: KEYS, loopMs, floeMs, ratio, timers: timerRows })}`);
