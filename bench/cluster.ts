// `npm run bench -- cluster`: a job on a local cluster of TaskManager processes against the same job in one process (start-up included).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from './report.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const jobFile = join(root, 'bench/jobs/cluster-job.ts');
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 3);
const CPU_RECORDS = Number(process.env.FLOE_BENCH_CPU_RECORDS ?? 400_000);
const HASH_ROUNDS = Number(process.env.FLOE_BENCH_HASH_ROUNDS ?? 10_000);
const KEYBY_RECORDS = Number(process.env.FLOE_BENCH_KEYBY_RECORDS ?? 4_000_000);
const dir = mkdtempSync(join(tmpdir(), 'floe-bench-cluster-'));

interface Timing {
  /** spawn to exit: start-up (the TaskManagers' too) included */
  wallMs: number;
  /** the job's own duration, submission to end, as `floe run` reports it */
  jobMs: number;
}

/** One `floe run` of the job as a child process. */
function floeRun(name: string, round: number, env: Record<string, string>, args: string[]): Promise<Timing> {
  const out = join(dir, `${name}-${round}`);
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/floe.js'), 'run', jobFile, '--rest-port', '0', '-q', ...args], {
    cwd: root,
    env: { ...process.env, ...env, OUT: out },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      const job = /job FINISHED in ([\d.]+) s/.exec(log);
      if (code === 0 && job) resolve({ wallMs: performance.now() - t0, jobMs: Number(job[1]) * 1000 });
      else reject(new Error(`${name} failed (${code}):\n${log}`));
    }),
  );
}

interface Case {
  name: string;
  env: Record<string, string>;
  args: string[];
}
const cpu = { RECORDS: String(CPU_RECORDS), HASH_ROUNDS: String(HASH_ROUNDS) };
const keyBy = { RECORDS: String(KEYBY_RECORDS), HASH_ROUNDS: '0' };
const checkpoints = ['--checkpoint-interval', '1s'];
const CASES: Case[] = [
  { name: 'cpu p=1, one process', env: cpu, args: ['-p', '1', ...checkpoints] },
  { name: 'cpu p=2, 2 TaskManagers', env: cpu, args: ['-p', '2', '--taskmanagers', '2', ...checkpoints] },
  { name: 'keyBy p=2, one process', env: keyBy, args: ['-p', '2', ...checkpoints] },
  { name: 'keyBy p=2, 2 TaskManagers', env: keyBy, args: ['-p', '2', '--taskmanagers', '2', ...checkpoints] },
];

console.log(
  `cpu job: ${CPU_RECORDS.toLocaleString()} records x ${HASH_ROUNDS} hash rounds; keyBy job: ${KEYBY_RECORDS.toLocaleString()} records; ${RUNS} interleaved rounds, medians\n`,
);
const times = new Map<string, Timing[]>(CASES.map((c) => [c.name, []]));
for (let round = 0; round < RUNS; round++) {
  // a rotating order, so a noisy neighbour hits every case alike
  for (let i = 0; i < CASES.length; i++) {
    const c = CASES[(i + round) % CASES.length]!;
    times.get(c.name)!.push(await floeRun(c.name.replace(/\W+/g, '-'), round, c.env, c.args));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const wall = (name: string) => median(times.get(name)!.map((x) => x.wallMs));
const job = (name: string) => median(times.get(name)!.map((x) => x.jobMs));
const records = (name: string) => (name.startsWith('cpu') ? CPU_RECORDS : KEYBY_RECORDS);
printTable(
  CASES.map((c) => ({
    case: c.name,
    'wall s': (wall(c.name) / 1000).toFixed(2),
    'job s': (job(c.name) / 1000).toFixed(2),
    'records/s (wall)': Math.round(records(c.name) / (wall(c.name) / 1000)).toLocaleString(),
    'records/s (job)': Math.round(records(c.name) / (job(c.name) / 1000)).toLocaleString(),
  })),
);
const CPU1 = 'cpu p=1, one process',
  CPU2 = 'cpu p=2, 2 TaskManagers',
  KB1 = 'keyBy p=2, one process',
  KB2 = 'keyBy p=2, 2 TaskManagers';
const speedup = wall(CPU1) / wall(CPU2);
const keyByRatio = wall(KB1) / wall(KB2);
console.log(
  `\ncpu-bound job, p=2 on 2 TaskManagers vs p=1 in one process: ${speedup.toFixed(2)}x faster with start-up (target >= 1.7x), ${(job(CPU1) / job(CPU2)).toFixed(2)}x the job alone`,
);
console.log(
  `records/s through a keyBy between 2 TaskManagers vs the same job in one process: ${keyByRatio.toFixed(2)} with start-up (target >= 0.5), ${(job(KB1) / job(KB2)).toFixed(2)} the job alone`,
);
console.log(
  `results: ${writeResults('cluster', { runs: RUNS, times: Object.fromEntries(times), speedup, keyByRatio, jobSpeedup: job(CPU1) / job(CPU2), jobKeyByRatio: job(KB1) / job(KB2) })}`,
);
rmSync(dir, { recursive: true, force: true });
