// `floe bench alignment [scenario.yaml...]`: runs alignment scenarios in every mode, prints tables, writes JSON and SVG charts.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
// the bench itself (and yaml, for its scenarios) is loaded when a bench runs, not at every start of the CLI
import type { ModeResult } from '../bench/alignment-bench.ts';
import type { TargetCheck } from '../bench/alignment-report.ts';
import { MODES, type BenchMode } from '../bench/bench-modes.ts';
import type { Scenario } from '../bench/scenario.ts';
import { parseDuration } from '../config/duration.ts';
import { ConfigError, FloeError } from '../errors.ts';
import { packagePath } from '../package-files.ts';

export const SHIPPED_SCENARIOS = packagePath('bench', 'scenarios');

export interface AlignmentBenchOptions {
  modes: string;
  duration: string;
  out: string;
  /** backpressure levels: factors of the slow subtask's delay; empty for none */
  levels: string;
  sweepDuration?: string;
  /** also run each mode on a local cluster of this many TaskManager processes */
  taskmanagers?: string;
}

export interface ScenarioReport {
  scenario: string;
  description: string;
  durationMs: number;
  modes: ModeResult[];
  sweep: ModeResult[];
  targets: TargetCheck[];
  /** each mode on a local cluster (--taskmanagers), beside `modes` */
  cluster?: ModeResult[];
}

/** A one-line progress bar on stderr (a plain line per run when stderr is not a terminal). */
function progress(total: number) {
  let done = 0;
  const tty = process.stderr.isTTY;
  return {
    tick(label: string, elapsedMs: number, durationMs: number) {
      const fraction = (done + Math.min(1, elapsedMs / durationMs)) / total;
      if (!tty) return;
      const width = 30;
      const filled = Math.round(fraction * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done + 1}/${total} ${label} ${(elapsedMs / 1000).toFixed(1)}s `.padEnd(
          100,
        ),
      );
    },
    start(label: string) {
      if (!tty) process.stderr.write(`run ${done + 1}/${total}: ${label}\n`);
    },
    next() {
      done++;
      if (tty && done === total) process.stderr.write('\r'.padEnd(101) + '\r');
    },
  };
}

/** parseDuration's plain Error as a coded one: the flag is the user's input. */
function durationOption(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new ConfigError('FLOE_BENCH_BAD_DURATION', `${flag}: ${(error as Error).message}`, {
      cause: error,
      hint: `e.g. ${flag} 10s (units: ms, s, min, h)`,
    });
  }
}

export async function runAlignmentBench(
  files: string[],
  options: AlignmentBenchOptions,
  out: (line: string) => void,
): Promise<ScenarioReport[]> {
  const [{ parseModes, runMode }, { checkTargets, clusterComparison, modeTable, subtaskTable, sweepChart }, { loadScenario }] =
    await Promise.all([import('../bench/alignment-bench.ts'), import('../bench/alignment-report.ts'), import('../bench/scenario.ts')]);
  const modes = parseModes(options.modes);
  const durationMs = durationOption('--duration', options.duration);
  const sweepMs = options.sweepDuration ? durationOption('--sweep-duration', options.sweepDuration) : Math.max(1000, durationMs / 2);
  const levels = options.levels
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean)
    .map(Number);
  if (levels.some((l) => !Number.isFinite(l) || l < 0))
    throw new ConfigError('FLOE_BENCH_BAD_LEVELS', `--levels must be numbers >= 0, got ${options.levels}`, {
      hint: 'e.g. --levels 0,0.5,1,2',
    });
  const taskManagers = options.taskmanagers === undefined ? 0 : Number(options.taskmanagers);
  if (!Number.isInteger(taskManagers) || taskManagers < 0 || (options.taskmanagers !== undefined && taskManagers < 1)) {
    throw new FloeError('FLOE_USAGE', `--taskmanagers takes a whole number of at least 1, not '${options.taskmanagers}'`, {
      hint: 'e.g. floe bench alignment bench/scenarios/backpressure.yaml --taskmanagers 2',
    });
  }
  const paths =
    files.length > 0
      ? files
      : readdirSync(SHIPPED_SCENARIOS)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(SHIPPED_SCENARIOS, f));
  const scenarios: Scenario[] = [];
  for (const p of paths) scenarios.push(await loadScenario(p));
  const sweepLevels = (s: Scenario) => (s.operators.some((o) => o.slow) ? levels.filter((l) => l !== 1) : []);
  const bar = progress(scenarios.reduce((n, s) => n + modes.length * (1 + sweepLevels(s).length + (taskManagers > 0 ? 1 : 0)), 0));
  const pathOf = new Map(scenarios.map((s, i) => [s, paths[i]!]));
  const run = async (s: Scenario, mode: BenchMode, level: number, ms: number, onCluster = false) => {
    const label = `${s.name} ${mode}${level === 1 ? '' : ` x${level}`}${onCluster ? ` on ${taskManagers} TaskManagers` : ''}`;
    bar.start(label);
    const cluster = onCluster ? { taskManagers, scenarioPath: pathOf.get(s)! } : undefined;
    const r = await runMode(s, mode, { durationMs: ms, level, onTick: (e) => bar.tick(label, e, ms), ...(cluster ? { cluster } : {}) });
    bar.next();
    return r;
  };
  mkdirSync(options.out, { recursive: true });
  const reports: ScenarioReport[] = [];
  for (const s of scenarios) {
    const results: ModeResult[] = [];
    for (const mode of modes) results.push(await run(s, mode, 1, durationMs));
    const sweep: ModeResult[] = [...results];
    for (const level of sweepLevels(s)) for (const mode of modes) sweep.push(await run(s, mode, level, sweepMs));
    const clustered: ModeResult[] = [];
    if (taskManagers > 0) for (const mode of modes) clustered.push(await run(s, mode, 1, durationMs, true));
    const targets = checkTargets(s.name, results);
    out(`\n== ${s.name}${s.description ? ` — ${s.description}` : ''} (${durationMs / 1000} s per mode)`);
    out(modeTable(results));
    if (clustered.length > 0) {
      out(`\non a local cluster of ${taskManagers} TaskManager processes (throughput from the sources' task metrics):`);
      out(modeTable(clustered));
      out(`\n${clusterComparison(results, clustered)}`);
    }
    const perSubtask = subtaskTable(results);
    if (perSubtask) out(`\n${perSubtask}`);
    for (const c of targets) out(`${c.met ? 'met' : 'MISSED'}: ${c.target} — ${c.measured}`);
    const report: ScenarioReport = {
      scenario: s.name,
      description: s.description,
      durationMs,
      modes: results,
      sweep: sweep.length > results.length ? sweep : [],
      targets,
      ...(clustered.length > 0 ? { cluster: clustered } : {}),
    };
    const json = join(options.out, `alignment-${s.name}.json`);
    writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), node: process.version, ...report }, null, 2));
    out(`results: ${json}`);
    if (report.sweep.length > 0) {
      const slow = s.operators.find((o) => o.slow)!.slow!;
      const svg = join(options.out, `alignment-${s.name}.svg`);
      writeFileSync(svg, sweepChart(s.name, report.sweep, slow.delayMs));
      out(`chart: ${svg}`);
    }
    reports.push(report);
  }
  return reports;
}

/** Registers `floe bench alignment` on the program. */
export function registerBenchCommand(program: Command, out: (line: string) => void, setExit: (code: number) => void): void {
  const bench = program.command('bench').description('benchmarks that drive the real runtime');
  bench
    .command('alignment')
    .description(
      'run alignment scenarios (YAML actor graphs) in each checkpointing mode: throughput, checkpoint and alignment times, in-flight bytes, latency',
    )
    .argument('[scenarios...]', `scenario YAML files (default: every file in ${SHIPPED_SCENARIOS})`)
    .option('--modes <list>', `comma-separated, of ${MODES.join(', ')}`, MODES.join(','))
    .option('--duration <duration>', 'how long each mode runs', '10s')
    .option('--out <dir>', 'where JSON and SVG go', 'bench/results')
    .option('--levels <list>', "backpressure sweep for the charts: factors of the slow subtask's delay", '0,0.25,0.5,1,2')
    .option('--sweep-duration <duration>', 'how long each sweep run lasts (default: half of --duration)')
    .option('--taskmanagers <n>', 'also run each mode on a local cluster of n TaskManager processes, reported beside the in-process run')
    .action(async (files: string[], options: AlignmentBenchOptions) => {
      // a missed target is a finding, not a failure of the command
      await runAlignmentBench(
        files.map((f) => resolve(f)),
        options,
        out,
      );
      setExit(0);
    });
}
