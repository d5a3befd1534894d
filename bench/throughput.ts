// Throughput: floe's word count at parallelism 1 against a hand-written loop doing the same work, and checkpoint cost.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { taskTimeMetrics } from '../src/actors/task.ts';
import { FileSink, StreamExecutionEnvironment } from '../src/index.ts';
import { generateText } from '../spec/fixtures/generate-text.ts';
import { printTable, writeResults } from './report.ts';

const WORDS = Number(process.env.FLOE_BENCH_WORDS ?? 5_000_000);
const dir = mkdtempSync(join(tmpdir(), 'floe-bench-'));
const input = join(dir, 'input.txt');
console.log(`generating ${WORDS.toLocaleString()} words...`);
writeFileSync(input, generateText(WORDS, { seed: 3, vocabulary: 5000 }));
console.log(`input: ${(statSync(input).size / 1e6).toFixed(1)} MB\n`);

/** The same work without floe: read lines, split words, count per word in a Map, write each running count as a JSON line. */
function handWritten(out: string): { ms: number; cpuMs: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const fd = openSync(out, 'w');
  const counts = new Map<string, number>();
  let buffer = '';
  for (const line of readFileSync(input, 'utf8').split('\n')) {
    for (const w of line.split(' ')) {
      if (!w) continue;
      const n = (counts.get(w) ?? 0) + 1;
      counts.set(w, n);
      buffer += JSON.stringify([w, n]) + '\n';
      if (buffer.length > 65536) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
  }
  writeSync(fd, buffer);
  closeSync(fd);
  return { ms: performance.now() - t0, cpuMs: cpuMsSince(c0) };
}

/** CPU time of the whole process (all threads: GC helpers, the I/O pool) since `start`: less sensitive than wall time to other processes on the machine. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

async function floe(out: string, checkpointMs: number | undefined): Promise<{ ms: number; cpuMs: number; checkpoints: number }> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    ...(checkpointMs ? { 'execution.checkpointing.interval': checkpointMs, 'execution.checkpointing.mode': 'exactly-once' } : {}),
  });
  env.readTextFile(input).uid('source')
    .flatMap((line: string) => line.split(' ').filter(Boolean)).uid('split')
    .map((w: string) => [w, 1] as [string, number]).uid('tag')
    .keyBy((t) => t[0])
    .reduce((a, b) => [a[0], a[1] + b[1]]).uid('count')
    .sinkTo(new FileSink(out)).uid('sink');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await env.execute('throughput');
  return { ms: performance.now() - t0, cpuMs: cpuMsSince(c0), checkpoints: result.checkpoints.completed };
}

function lines(path: string): number {
  const files = statSync(path).isDirectory() ? readdirSync(path).map((f) => join(path, f)) : [path];
  let n = 0;
  for (const f of files) for (const c of readFileSync(f)) if (c === 10) n++;
  return n;
}

// Interleaved rounds: every round runs each case once, in a rotating order, so a noisy neighbour
// (other processes on a 2-core machine) hits all cases alike; the table reports medians, and the
// checkpoint cost is the median of per-round ratios (on and off measured back to back).
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 5);
interface Case {
  name: string;
  run(round: number): Promise<{ ms: number; cpuMs: number; checkpoints?: number }>;
}
const CASES: Case[] = [
  { name: 'hand-written loop', run: async (i: number) => {
    const out = join(dir, `hand-${i}.txt`);
    const r = handWritten(out);
    if (lines(out) !== WORDS) throw new Error('hand-written loop lost records');
    return r;
  } },
  ...([['floe, checkpoints off', undefined], ['floe, exactly-once every 1 s', 1000]] as const).map(([name, interval]) => ({
    name,
    run: async (i: number) => {
      const out = join(dir, `floe-${interval ?? 0}-${i}`);
      const res = await floe(out, interval);
      if (lines(out) !== WORDS) throw new Error(`${name} lost records`);
      rmSync(out, { recursive: true, force: true });
      return res;
    },
  })),
  // what the busy / backpressured / idle time accounting of the task loop costs: the same run with it off
  { name: 'floe, checkpoints off, task time metrics off', run: async (i: number) => {
    const out = join(dir, `floe-nometrics-${i}`);
    taskTimeMetrics.enabled = false;
    try {
      const res = await floe(out, undefined);
      if (lines(out) !== WORDS) throw new Error('floe without task time metrics lost records');
      rmSync(out, { recursive: true, force: true });
      return res;
    } finally {
      taskTimeMetrics.enabled = true;
    }
  } },
];
const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
const cpuTimes = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
const checkpoints: number[] = [];
for (let round = 0; round < RUNS; round++) {
  const order = CASES.map((_, k) => CASES[(k + round) % CASES.length]!);
  const msThisRound: string[] = [];
  for (const c of order) {
    const r = await c.run(round);
    times.get(c.name)!.push(r.ms);
    cpuTimes.get(c.name)!.push(r.cpuMs);
    if (r.checkpoints !== undefined && c.name.includes('every')) checkpoints.push(r.checkpoints);
    msThisRound.push(`${c.name} ${(r.ms / 1000).toFixed(2)} s (cpu ${(r.cpuMs / 1000).toFixed(2)} s)`);
  }
  console.log(`round ${round + 1}/${RUNS}: ${msThisRound.join(', ')}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const rate = (ms: number) => (WORDS / ms) * 1000;
const results: Record<string, { medianMs: number; recordsPerSec: number; runsMs: number[]; medianCpuMs: number; recordsPerCpuSec: number; runsCpuMs: number[]; checkpoints?: number }> = {};
for (const [name, ms] of times) {
  const cpu = cpuTimes.get(name)!;
  results[name] = {
    medianMs: median(ms), recordsPerSec: rate(median(ms)), runsMs: ms,
    medianCpuMs: median(cpu), recordsPerCpuSec: rate(median(cpu)), runsCpuMs: cpu,
    ...(name.includes('every') ? { checkpoints: median(checkpoints) } : {}),
  };
}
const baseCpu = results['hand-written loop']!.recordsPerCpuSec;
const base = results['hand-written loop']!.recordsPerSec;
const rows: Array<Record<string, string | number>> = [];
for (const [name, r] of Object.entries(results)) {
  const spread = (Math.max(...r.runsMs) - Math.min(...r.runsMs)) / r.medianMs;
  rows.push({
    case: `${name} (${+(WORDS / 1e6).toFixed(1)}M words)`,
    'words/s (median)': Math.round(r.recordsPerSec).toLocaleString(),
    'time s': (r.medianMs / 1000).toFixed(2),
    'spread': `${(spread * 100).toFixed(0)}%`,
    checkpoints: r.checkpoints ?? '-',
    'vs hand-written': (r.recordsPerSec / base).toFixed(2),
    'words/cpu-s (median)': Math.round(r.recordsPerCpuSec).toLocaleString(),
    'vs hand-written (cpu)': (r.recordsPerCpuSec / baseCpu).toFixed(2),
  });
}
console.log(`\n${RUNS} interleaved rounds; spread = (slowest - fastest) / median\n`);
printTable(rows);
const off = times.get('floe, checkpoints off')!;
const on = times.get('floe, exactly-once every 1 s')!;
const ratio = results['floe, checkpoints off']!.recordsPerSec / base;
const ratioCpu = results['floe, checkpoints off']!.recordsPerCpuSec / baseCpu;
// throughput lost in a round: 1 - rate(on) / rate(off), from the two runs measured back to back
const perRound = off.map((o, i) => 1 - o / on[i]!);
const offCpu = cpuTimes.get('floe, checkpoints off')!;
const onCpu = cpuTimes.get('floe, exactly-once every 1 s')!;
const perRoundCpu = offCpu.map((o, i) => 1 - o / onCpu[i]!);
const cost = median(perRound);
const costCpu = median(perRoundCpu);
const pct = (xs: number[]) => xs.map((c) => `${(c * 100).toFixed(1)}%`).join(', ');
console.log(`\nfloe / hand-written: ${ratio.toFixed(2)} wall, ${ratioCpu.toFixed(2)} cpu (target >= 0.50)`);
console.log(`checkpointing every 1 s costs ${(cost * 100).toFixed(1)}% wall (rounds: ${pct(perRound)})`);
console.log(`                            and ${(costCpu * 100).toFixed(1)}% cpu (rounds: ${pct(perRoundCpu)}) against checkpointing off (target < 5%)`);
// the time metrics' cost, per round from the two runs measured back to back: rate with them / rate without
const bare = times.get('floe, checkpoints off, task time metrics off')!;
const bareCpu = cpuTimes.get('floe, checkpoints off, task time metrics off')!;
const metricsRatio = median(off.map((o, i) => bare[i]! / o));
const metricsRatioCpu = median(offCpu.map((o, i) => bareCpu[i]! / o));
console.log(`task time metrics on / off (throughput ratio, 1.000 = no cost): ${metricsRatio.toFixed(3)} wall (rounds: ${off.map((o, i) => (bare[i]! / o).toFixed(3)).join(', ')})`);
console.log(`                                                              ${metricsRatioCpu.toFixed(3)} cpu (rounds: ${offCpu.map((o, i) => (bareCpu[i]! / o).toFixed(3)).join(', ')})`);
console.log(`results: ${writeResults('throughput', { words: WORDS, runs: RUNS, results, ratio, ratioCpu, checkpointCost: cost, checkpointCostCpu: costCpu, checkpointCostPerRound: perRound, checkpointCostPerRoundCpu: perRoundCpu, timeMetricsRatio: metricsRatio, timeMetricsRatioCpu: metricsRatioCpu })}`);
rmSync(dir, { recursive: true, force: true });
