// The keyed case of the throughput bench: bench/keyed-job.mjs in fresh processes (start-up included), floe against a plain loop of the job's own functions, optionally a baseline checkout beside.
//
// Every side is plain `node` running the same JavaScript file: the loop alone, or floe from a checkout's build
// (dist/, what the package ships and an installed floe runs; built here first). Under a TypeScript loader the
// floe side would also pay compiling floe's sources at every start (about 0.25 s of CPU), which no user pays.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateText } from '../spec/fixtures/generate-text.ts';
import { median, ratioText } from './baseline.ts';
import { printTable, writeResults } from './report.ts';

const JOB = fileURLToPath(new URL('./keyed-job.mjs', import.meta.url));

interface Run {
  ms: number;
  cpuMs: number;
  checkpoints: number;
}

/** `npm run build` in the checkout at `root`: the floe side runs its dist/, which must be of its sources now. */
function build(root: string): void {
  console.log(`building ${join(root, 'dist')} (npm run build)...`);
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

function lines(path: string): number {
  const files = statSync(path).isDirectory() ? readdirSync(path).map((f) => join(path, f)) : [path];
  let n = 0;
  for (const f of files) for (const c of readFileSync(f)) if (c === 10) n++;
  return n;
}

/**
 * Runs the keyed word count (read, split, tag, keyBy, reduce, keep 1 in 100, FileSink; exactly-once
 * checkpoints every second) at parallelism 1 in interleaved rounds, each side a fresh `node` process
 * timed from its own start, and prints floe's rate as a fraction of the plain loop's.
 */
export async function runKeyedCase(options: { baseline?: string | undefined }): Promise<void> {
  const words = Number(process.env.FLOE_BENCH_KEYED_WORDS ?? 8_000_000);
  const runs = Number(process.env.FLOE_BENCH_RUNS ?? 5);
  const baseline = options.baseline === undefined ? undefined : resolve(options.baseline);
  if (baseline && !existsSync(join(baseline, 'src/index.ts')))
    throw new Error(`--baseline ${baseline}: no src/index.ts there (give a floe checkout with its node_modules)`);
  for (const root of [join(import.meta.dirname, '..'), ...(baseline ? [baseline] : [])]) build(root);
  const dir = mkdtempSync(join(tmpdir(), 'floe-bench-keyed-'));
  const input = join(dir, 'input.txt');
  console.log(`\nkeyed job, output 1% of input: generating ${words.toLocaleString()} words...`);
  writeFileSync(input, generateText(words, { seed: 3, vocabulary: 5000 }));

  const cases: Array<{ name: string; args: string[] }> = [
    { name: 'plain loop of the job functions', args: ['loop'] },
    { name: 'floe, exactly-once every 1 s', args: ['floe', '--checkpoint-ms', '1000'] },
    ...(baseline
      ? [
          {
            name: 'baseline floe, exactly-once every 1 s',
            args: ['floe', '--checkpoint-ms', '1000', '--floe', join(baseline, 'dist/index.js')],
          },
        ]
      : []),
  ];
  const results = new Map<string, Run[]>(cases.map((c) => [c.name, []]));
  let expected: number | undefined;
  for (let round = 0; round < runs; round++) {
    const said: string[] = [];
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + round) % cases.length]!;
      const out = join(dir, `out-${round}-${k}`);
      const [mode, ...rest] = c.args;
      const stdout = execFileSync(process.execPath, [JOB, mode!, input, out, ...rest], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const run = JSON.parse(stdout.trim().split('\n').at(-1)!) as Run;
      const n = lines(out);
      // every side writes the same records: a lost or duplicated one fails the bench
      if (expected === undefined) expected = n;
      else if (n !== expected) throw new Error(`${c.name} wrote ${n} records, the first run ${expected}`);
      rmSync(out, { recursive: true, force: true });
      results.get(c.name)!.push(run);
      said.push(`${c.name} ${(run.ms / 1000).toFixed(2)} s (cpu ${(run.cpuMs / 1000).toFixed(2)} s)`);
    }
    console.log(`round ${round + 1}/${runs}: ${said.join(', ')}`);
  }

  const loop = results.get(cases[0]!.name)!;
  const loopMs = median(loop.map((r) => r.ms));
  const loopCpu = median(loop.map((r) => r.cpuMs));
  const rows: Array<Record<string, string | number>> = [];
  const figures: Record<string, { medianMs: number; medianCpuMs: number; ratio: number; ratioCpu: number; runs: Run[] }> = {};
  for (const c of cases) {
    const rs = results.get(c.name)!;
    const ms = median(rs.map((r) => r.ms));
    const cpu = median(rs.map((r) => r.cpuMs));
    figures[c.name] = { medianMs: ms, medianCpuMs: cpu, ratio: loopMs / ms, ratioCpu: loopCpu / cpu, runs: rs };
    rows.push({
      case: `${c.name} (${+(words / 1e6).toFixed(1)}M words, ${expected} out)`,
      'time s': (ms / 1000).toFixed(2),
      'cpu s': (cpu / 1000).toFixed(2),
      checkpoints: c.args[0] === 'floe' ? median(rs.map((r) => r.checkpoints)) : '-',
      'vs loop': (loopMs / ms).toFixed(2),
      'vs loop (cpu)': (loopCpu / cpu).toFixed(2),
    });
  }
  console.log(`\n${runs} interleaved rounds, fresh processes, start-up included; medians`);
  console.log(
    `each side: plain \`node\` (${process.version}) running bench/keyed-job.mjs; floe imported from a checkout's dist/index.js\n`,
  );
  printTable(rows);
  for (const c of cases.slice(1)) {
    const f = figures[c.name]!;
    console.log(`${c.name} / plain loop: ${f.ratio.toFixed(2)} wall, ${f.ratioCpu.toFixed(2)} cpu (target >= 0.90)`);
  }
  let vsBaseline: { perRound: number[]; perRoundCpu: number[] } | null = null;
  if (baseline) {
    // rates, per round (the two runs of one round share the machine's moment): > 1 is faster
    const mine = results.get(cases[1]!.name)!;
    const theirs = results.get(cases[2]!.name)!;
    vsBaseline = { perRound: mine.map((m, i) => theirs[i]!.ms / m.ms), perRoundCpu: mine.map((m, i) => theirs[i]!.cpuMs / m.cpuMs) };
    console.log(
      `floe this/baseline rate (median of rounds, range): ${ratioText(vsBaseline.perRound)} wall, ${ratioText(vsBaseline.perRoundCpu)} cpu`,
    );
  }
  console.log(
    `results: ${writeResults('throughput-keyed', { words, runs, records: expected, baseline: baseline ?? null, results: figures, vsBaseline })}`,
  );
  rmSync(dir, { recursive: true, force: true });
}
