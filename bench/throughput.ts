// Throughput: floe's word count at parallelism 1 against a hand-written loop doing the same work, and checkpoint cost;
// then a keyed job whose output is 1% of its input, in fresh processes, against a plain loop of the job's own functions.
//
// npm run bench -- throughput [--case all-records|keyed] [--baseline <checkout>]
// `--baseline` (or FLOE_BENCH_BASELINE) runs every floe case on another checkout's src/ too (e.g. main's), in the
// same rounds: before and after, with per-case ratios. The all-records floe cases then run in child processes
// (bench/word-count-job.ts), this tree's as the baseline's, so both sides are measured alike.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSink, StreamExecutionEnvironment } from '../src/index.ts';
import { generateText } from '../spec/fixtures/generate-text.ts';
import { baselineOption, median, ratioText } from './baseline.ts';
import { runKeyedCase } from './keyed-throughput.ts';
import { wordCountPipeline } from './word-count-pipeline.ts';
import { printTable, writeResults } from './report.ts';

const args = process.argv.slice(3);
const argOf = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const only = argOf('--case');
if (only !== undefined && only !== 'all-records' && only !== 'keyed') {
  console.error('usage: npm run bench -- throughput [--case all-records|keyed] [--baseline <checkout>]');
  process.exit(1);
}
const baseline = baselineOption(args);
if (only !== 'keyed') await allRecords();
if (only !== 'all-records') await runKeyedCase({ baseline });

async function allRecords(): Promise<void> {
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
    wordCountPipeline(env, FileSink, input, out);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const result = await env.execute('throughput');
    return { ms: performance.now() - t0, cpuMs: cpuMsSince(c0), checkpoints: result.checkpoints.completed };
  }

  /** The same job in a fresh child process on `root`'s src/ (this tree's when undefined): how a baseline run measures both sides. */
  function floeChild(
    root: string | undefined,
    out: string,
    checkpointMs: number | undefined,
  ): { ms: number; cpuMs: number; checkpoints: number } {
    const job = fileURLToPath(new URL('./word-count-job.ts', import.meta.url));
    const stdout = execFileSync(
      process.execPath,
      [
        '--import=tsx',
        job,
        input,
        out,
        ...(root ? ['--floe', root] : []),
        ...(checkpointMs ? ['--checkpoint-ms', String(checkpointMs)] : []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number; cpuMs: number; checkpoints: number };
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
    {
      name: 'hand-written loop',
      run: async (i: number) => {
        const out = join(dir, `hand-${i}.txt`);
        const r = handWritten(out);
        if (lines(out) !== WORDS) throw new Error('hand-written loop lost records');
        return r;
      },
    },
    ...(['', ...(baseline ? ['baseline '] : [])] as const).flatMap((side) =>
      (
        [
          ['floe, checkpoints off', undefined],
          ['floe, exactly-once every 1 s', 1000],
        ] as const
      ).map(([caseName, interval]) => ({
        name: `${side}${caseName}`,
        run: async (i: number) => {
          const out = join(dir, `floe-${side ? 'baseline-' : ''}${interval ?? 0}-${i}`);
          const res = baseline ? floeChild(side ? baseline : undefined, out, interval) : await floe(out, interval);
          if (lines(out) !== WORDS) throw new Error(`${side}${caseName} lost records`);
          rmSync(out, { recursive: true, force: true });
          return res;
        },
      })),
    ),
  ];
  const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  const cpuTimes = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  const checkpoints = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  for (let round = 0; round < RUNS; round++) {
    const order = CASES.map((_, k) => CASES[(k + round) % CASES.length]!);
    const msThisRound: string[] = [];
    for (const c of order) {
      const r = await c.run(round);
      times.get(c.name)!.push(r.ms);
      cpuTimes.get(c.name)!.push(r.cpuMs);
      if (r.checkpoints !== undefined && c.name.includes('every')) checkpoints.get(c.name)!.push(r.checkpoints);
      msThisRound.push(`${c.name} ${(r.ms / 1000).toFixed(2)} s (cpu ${(r.cpuMs / 1000).toFixed(2)} s)`);
    }
    console.log(`round ${round + 1}/${RUNS}: ${msThisRound.join(', ')}`);
  }

  const rate = (ms: number) => (WORDS / ms) * 1000;
  const results: Record<
    string,
    {
      medianMs: number;
      recordsPerSec: number;
      runsMs: number[];
      medianCpuMs: number;
      recordsPerCpuSec: number;
      runsCpuMs: number[];
      checkpoints?: number;
    }
  > = {};
  for (const [name, ms] of times) {
    const cpu = cpuTimes.get(name)!;
    results[name] = {
      medianMs: median(ms),
      recordsPerSec: rate(median(ms)),
      runsMs: ms,
      medianCpuMs: median(cpu),
      recordsPerCpuSec: rate(median(cpu)),
      runsCpuMs: cpu,
      ...(name.includes('every') ? { checkpoints: median(checkpoints.get(name)!) } : {}),
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
      spread: `${(spread * 100).toFixed(0)}%`,
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
  console.log(
    `                            and ${(costCpu * 100).toFixed(1)}% cpu (rounds: ${pct(perRoundCpu)}) against checkpointing off (target < 5%)`,
  );
  const vsBaseline: Record<string, { perRound: number[]; perRoundCpu: number[] }> = {};
  if (baseline) {
    // this / baseline as rates (> 1: this tree is faster), per round from the two runs of the same round
    const rows: Array<Record<string, string | number>> = [];
    for (const name of ['floe, checkpoints off', 'floe, exactly-once every 1 s']) {
      const mine = times.get(name)!;
      const theirs = times.get(`baseline ${name}`)!;
      const mineCpu = cpuTimes.get(name)!;
      const theirsCpu = cpuTimes.get(`baseline ${name}`)!;
      const perRound = mine.map((m, i) => theirs[i]! / m);
      const perRoundCpu = mineCpu.map((m, i) => theirsCpu[i]! / m);
      vsBaseline[name] = { perRound, perRoundCpu };
      rows.push({
        case: name,
        'this s': (median(mine) / 1000).toFixed(2),
        'baseline s': (median(theirs) / 1000).toFixed(2),
        'this/baseline rate (median of rounds, range)': ratioText(perRound),
        'this cpu s': (median(mineCpu) / 1000).toFixed(2),
        'baseline cpu s': (median(theirsCpu) / 1000).toFixed(2),
        'this/baseline rate per cpu-s': ratioText(perRoundCpu),
      });
    }
    console.log(`\nthis tree against the baseline ${baseline} (fresh child processes, execute timed; ratios of rates: > 1 is faster)\n`);
    printTable(rows);
  }
  console.log(
    `results: ${writeResults('throughput', { words: WORDS, runs: RUNS, baseline: baseline ?? null, results, ratio, ratioCpu, checkpointCost: cost, checkpointCostCpu: costCpu, checkpointCostPerRound: perRound, checkpointCostPerRoundCpu: perRoundCpu, vsBaseline })}`,
  );
  rmSync(dir, { recursive: true, force: true });
}
