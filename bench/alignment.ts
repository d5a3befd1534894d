// Alignment: what exactly-once alignment costs against at-least-once, unaligned and aligned-timeout, per shipped scenario.
// `npm run bench -- alignment [scenario.yaml...] [--modes ...] [--duration 10s] [--out dir] [--levels 0,0.5,1]`
//
// `--baseline <checkout>` (or FLOE_BENCH_BASELINE=<checkout>): before/after instead. Every scenario × mode runs
// on this tree's src/ and on the checkout's, each in a fresh child process (bench/alignment-job.ts), back to
// back in alternating order, for FLOE_BENCH_RUNS rounds (default 3); prints medians and per-case ratios
// this/baseline. Takes the scenarios, `--modes` and `--duration`; no sweep (`--levels`).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Command } from 'commander';
import type { ModeResult } from '../src/bench/alignment-bench.ts';
import { MODES } from '../src/bench/bench-modes.ts';
import { registerBenchCommand, SHIPPED_SCENARIOS } from '../src/cli/bench-command.ts';
import { parseDuration } from '../src/config/duration.ts';
import { baselineOption, median, ratioText, withoutBaseline } from './baseline.ts';
import { printTable, writeResults } from './report.ts';

const args = process.argv.slice(3);
const baseline = baselineOption(args);
if (!baseline) {
  const program = new Command('bench').exitOverride();
  registerBenchCommand(
    program,
    (line) => console.log(line),
    () => {},
  );
  await program.parseAsync(['bench', 'alignment', '--out', new URL('./results/', import.meta.url).pathname, ...args], { from: 'user' });
} else {
  await compare(baseline, withoutBaseline(args));
}

async function compare(root: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { modes: { type: 'string', default: MODES.join(',') }, duration: { type: 'string', default: '10s' } },
  });
  const { parseModes } = await import('../src/bench/alignment-bench.ts');
  const modes = parseModes(values.modes);
  const durationMs = parseDuration(values.duration);
  const shipped = () =>
    readdirSync(SHIPPED_SCENARIOS)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(SHIPPED_SCENARIOS, f));
  const files = positionals.length > 0 ? positionals.map((f) => resolve(f)) : shipped();
  const runs = Number(process.env.FLOE_BENCH_RUNS ?? 3);
  const job = fileURLToPath(new URL('./alignment-job.ts', import.meta.url));
  const sides: Array<[string, string[]]> = [
    ['this', []],
    ['baseline', ['--floe', root]],
  ];
  const cases = files.flatMap((file) => modes.map((mode) => ({ file, mode })));
  const results = new Map<string, ModeResult[]>();
  const key = (side: string, file: string, mode: string) => `${side} ${file} ${mode}`;
  console.log(`${cases.length} cases × 2 sides × ${runs} rounds, ${durationMs / 1000} s each; baseline ${root}`);
  for (let round = 0; round < runs; round++) {
    for (const [k, c] of cases.entries()) {
      // the two sides of a case back to back, the first alternating: they share the machine's moment
      const order = (round + k) % 2 ? [...sides].reverse() : sides;
      const said: string[] = [];
      for (const [side, extra] of order) {
        const stdout = execFileSync(process.execPath, ['--import=tsx', job, c.file, c.mode, String(durationMs), ...extra], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
          maxBuffer: 16 << 20,
        });
        const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as ModeResult;
        results.set(key(side, c.file, c.mode), [...(results.get(key(side, c.file, c.mode)) ?? []), r]);
        said.push(`${side} ${Math.round(r.throughput).toLocaleString()} rec/s, checkpoint p50 ${r.checkpointDuration.p50.toFixed(0)} ms`);
      }
      console.log(`round ${round + 1}/${runs} ${cases[k]!.mode.padEnd(15)} ${resultsName(c.file)}: ${said.join('; ')}`);
    }
  }

  // per round, this tree's figure over the baseline's of the same round; figures of 0 (e.g. no alignment) give no ratio
  const perRound = (mine: ModeResult[], theirs: ModeResult[], f: (r: ModeResult) => number) =>
    mine.map((m, i) => (f(theirs[i]!) === 0 ? NaN : f(m) / f(theirs[i]!)));
  const rows: Array<Record<string, string | number>> = [];
  const figures: Record<string, unknown> = {};
  for (const c of cases) {
    const mine = results.get(key('this', c.file, c.mode))!;
    const theirs = results.get(key('baseline', c.file, c.mode))!;
    const med = (rs: ModeResult[], f: (r: ModeResult) => number) => median(rs.map(f));
    const tp = (r: ModeResult) => r.throughput;
    const cp = (r: ModeResult) => r.checkpointDuration.p50;
    const al = (r: ModeResult) => r.alignmentDuration.p50;
    const lat = (r: ModeResult) => r.latency.p50;
    const done = (r: ModeResult) => r.checkpoints.completed;
    rows.push({
      scenario: resultsName(c.file),
      mode: c.mode,
      'rec/s this': Math.round(med(mine, tp)).toLocaleString(),
      'rec/s base': Math.round(med(theirs, tp)).toLocaleString(),
      'rec/s ratio': ratioText(perRound(mine, theirs, tp)),
      'cp p50 ms this/base': `${med(mine, cp).toFixed(0)}/${med(theirs, cp).toFixed(0)}`,
      'cp p50 ratio': ratioText(perRound(mine, theirs, cp)),
      'align p50 ms this/base': `${med(mine, al).toFixed(1)}/${med(theirs, al).toFixed(1)}`,
      'align p50 ratio': ratioText(perRound(mine, theirs, al)),
      'latency p50 ms this/base': `${med(mine, lat).toFixed(1)}/${med(theirs, lat).toFixed(1)}`,
      'latency p50 ratio': ratioText(perRound(mine, theirs, lat)),
      'checkpoints this/base': `${med(mine, done)}/${med(theirs, done)}`,
    });
    figures[`${resultsName(c.file)} ${c.mode}`] = { this: mine, baseline: theirs };
  }
  console.log(
    `\n${runs} rounds, fresh processes, ${durationMs / 1000} s per run; medians; ratio = this/baseline, median of per-round ratios (range):`,
  );
  console.log('rec/s > 1 is faster; checkpoint, alignment and latency < 1 are faster\n');
  printTable(rows);
  console.log(`results: ${writeResults('alignment-baseline', { baseline: root, runs, durationMs, results: figures })}`);
}

function resultsName(file: string): string {
  return file.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
}
