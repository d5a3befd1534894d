// Start-up: `floe run` of a three-record JavaScript job against plain node importing all of floe's runtime
// dependencies (the floor a run cannot go below), in one run, rounds interleaved, medians. Target: at most 1.5x.
// Beside them: the same job run from src/ under tsx (how every run started before dist/), and a TypeScript job.
// FLOE_BENCH_BASELINE=<another checkout, with its npm install done>: the job also runs with that checkout's
// bin/floe.js (and its floe), before/after in one run.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from './report.ts';

const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 7);
const root = fileURLToPath(new URL('../', import.meta.url));
const bin = join(root, 'bin/floe.js');
const dependencies = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies as Record<string, string>)
  // tsx is the TypeScript loader: a JavaScript job never loads it; @types/* hold declarations only (no code to import)
  .filter((name) => name !== 'tsx' && !name.startsWith('@types/'));

// the job in a project of its own that installed floe, as a user's
const project = mkdtempSync(join(tmpdir(), 'floe-bench-startup-'));
mkdirSync(join(project, 'node_modules'));
symlinkSync(root, join(project, 'node_modules', 'floe'), 'dir');
writeFileSync(join(project, 'package.json'), '{ "name": "startup", "type": "module" }\n');
const job =
  "import { CollectSink } from 'floe';\n\nexport default function job(env) {\n  env.fromCollection([1, 2, 3]).map((x) => x * 2).sinkTo(new CollectSink([]));\n}\n";
writeFileSync(join(project, 'job.mjs'), job);
const baseline = process.env.FLOE_BENCH_BASELINE;
const baselineProject = join(project, 'baseline');
if (baseline) {
  mkdirSync(join(baselineProject, 'node_modules'), { recursive: true });
  symlinkSync(baseline, join(baselineProject, 'node_modules', 'floe'), 'dir');
  writeFileSync(join(baselineProject, 'package.json'), '{ "name": "startup-baseline", "type": "module" }\n');
  writeFileSync(join(baselineProject, 'job.mjs'), job);
}
writeFileSync(
  join(project, 'job.ts'),
  job
    .replace('function job(env)', 'function job(env: StreamExecutionEnvironment)')
    .replace('import {', 'import { type StreamExecutionEnvironment,'),
);

console.log('building dist/ (npm run build) ...');
execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });

const floe = (file: string, source: boolean) => ({
  args: [bin, 'run', join(project, file), '-q', '--rest-port', '0'],
  env: { FLOE_FROM_SOURCE: source ? '1' : '0' },
});
const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; cwd?: string }> = [
  // run in the checkout, where the dependencies resolve
  {
    name: 'node imports the dependencies',
    args: ['--input-type=module', '-e', `await Promise.all(${JSON.stringify(dependencies)}.map((name) => import(name)));`],
    cwd: root,
  },
  { name: 'floe run job.mjs', ...floe('job.mjs', false) },
  { name: 'floe run job.ts', ...floe('job.ts', false) },
  { name: 'floe run job.mjs from src/ (tsx)', ...floe('job.mjs', true) },
];
if (baseline)
  cases.push({
    name: `floe run job.mjs in ${baseline}`,
    args: [join(baseline, 'bin/floe.js'), 'run', 'job.mjs', '-q', '--rest-port', '0'],
    cwd: baselineProject,
  });

/** Wall time of one process, start to exit, in ms. */
function time(args: string[], env: Record<string, string> = {}, cwd = project): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  for (const c of cases) time(c.args, c.env, c.cwd); // warm the file cache once
  const samples = new Map(cases.map((c) => [c.name, [] as number[]]));
  for (let round = 0; round < RUNS; round++) for (const c of cases) samples.get(c.name)!.push(time(c.args, c.env, c.cwd));
  const floor = median(samples.get(cases[0]!.name)!);
  const rows = cases.map((c) => {
    const xs = samples.get(c.name)!;
    return {
      case: c.name,
      'median ms': median(xs).toFixed(0),
      'min ms': Math.min(...xs).toFixed(0),
      'max ms': Math.max(...xs).toFixed(0),
      'x imports': (median(xs) / floor).toFixed(2),
    };
  });
  console.log(`\nstart-up, ${RUNS} rounds (interleaved), each a fresh node process; dependencies: ${dependencies.join(', ')}\n`);
  printTable(rows);
  const ratio = median(samples.get('floe run job.mjs')!) / floor;
  console.log(`\nfloe run of a JavaScript job: ${ratio.toFixed(2)}x plain node importing floe's dependencies (target <= 1.5x)`);
  console.log(`results: ${writeResults('startup', { runs: RUNS, dependencies, rows, ratio, baseline })}`);
} finally {
  rmSync(project, { recursive: true, force: true });
}
