// Backends: the same keyed workload on memory, fs and level — records/s, checkpoint time and size, full against incremental (1% of keys changed).
//
// `npm run bench -- backends` runs 100 thousand and 1 million keys (a few minutes);
// `FLOE_BENCH_KEYS=100000,1000000,10000000 npm run bench -- backends` adds 10 million (level only
// by default at that size: heap backends need `FLOE_BENCH_HEAP_MAX` raised and several GB of heap).
// Each backend × size runs in its own process (`--expose-gc`), so heap figures do not mix.
// `--baseline <checkout>` (or `FLOE_BENCH_BASELINE=<checkout>`) also runs each case on another checkout's
// src/ (this file, run as a child with `--floe <checkout>`, imports that checkout's backends) in the same
// rounds, in alternating order, and prints per-case ratios: before/after in one run. `FLOE_BENCH_RUNS`
// rounds (default 1, 3 with a baseline); the tables show medians.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyedStateBackend, TaskStateStorage } from '../src/backends/types.ts';
import { baselineOption, importFrom, median, ratioText } from './baseline.ts';
import { printTable, writeResults } from './report.ts';

const BATCH = 512;
const UPDATES = Number(process.env.FLOE_BENCH_UPDATES ?? 1_000_000);
const CHANGED = 0.01;
/** incremental checkpoints per case, each after another 1% of keys changed (the first runs cold code) */
const ROUNDS = Number(process.env.FLOE_BENCH_INCR_ROUNDS ?? 3);

interface CaseResult {
  backend: string;
  keys: number;
  loadPerSec: number;
  updatePerSec: number;
  /** updates per second of main-thread CPU time */
  updatePerCpuSec: number;
  /** reads served by the level backend's value cache (null for heap backends) */
  cacheHitRate: number | null;
  heapMB: number;
  fullMs: number;
  fullBytes: number;
  /** median over the rounds */
  incrementalMs: number | null;
  /** the first round (cold code) */
  incrementalFirstMs: number | null;
  incrementalBytes: number | null;
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * CPU milliseconds of the main (JS) thread alone: LevelDB compacts and writes on other threads, and
 * the machine is shared, so records per main-thread CPU second is the "on one core" figure that
 * wall-clock rates under load cannot give. Linux /proc (100 ticks/s); elsewhere all threads.
 */
function mainThreadCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
}

/** Runs one case on the backends of the checkout at `root` (this tree when undefined): every checkout since this bench has the modules it imports. */
async function runCase(root: string | undefined, name: string, keys: number): Promise<CaseResult> {
  const [{ keyGroupRangeForSubtask }, { createStateBackend }, { MemoryCheckpointStorage }, { FileTaskStateStorage }, { seeded: random }] =
    await Promise.all([
      importFrom<typeof import('../src/backends/key-groups.ts')>(root, 'src/backends/key-groups.ts'),
      importFrom<typeof import('../src/backends/state-backend-registry.ts')>(root, 'src/backends/state-backend-registry.ts'),
      importFrom<typeof import('../src/storage/memory-checkpoint-storage.ts')>(root, 'src/storage/memory-checkpoint-storage.ts'),
      importFrom<typeof import('../spec/helpers/file-task-state-storage.ts')>(root, 'spec/helpers/file-task-state-storage.ts'),
      importFrom<typeof import('../src/bench/seeded-random.ts')>(root, 'src/bench/seeded-random.ts'),
    ]);
  const dir = mkdtempSync(join(tmpdir(), 'floe-bench-backends-'));
  try {
    const files = new FileTaskStateStorage(join(dir, 'checkpoints'));
    // the memory preset keeps snapshots in memory: the cap is lifted to measure it at every size
    const storage: TaskStateStorage =
      name === 'memory' ? new MemoryCheckpointStorage({ maxSnapshotSize: Infinity }).forSubtask('count', 0) : files;
    const backend = createStateBackend(name, {
      incremental: true,
      localDir: join(dir, 'local'),
      cacheBytes: process.env.FLOE_BENCH_CACHE ? Number(process.env.FLOE_BENCH_CACHE) : undefined,
    });
    const b: KeyedStateBackend = backend.createKeyedBackend({
      jobId: 'bench',
      operatorUid: 'count',
      subtaskIndex: 0,
      maxParallelism: 128,
      keyGroupRange: keyGroupRangeForSubtask(128, 1, 0),
      storage,
    });
    const count = b.getState<number>({ kind: 'value', name: 'count' });
    const key = (i: number) => `user-${i}`;
    // load: one update per key, as a keyed operator does on first sight of each key
    let t0 = performance.now();
    for (let i = 0; i < keys; i++) {
      b.setCurrentKey(key(i));
      count.update(1);
      if ((i + 1) % BATCH === 0) await b.endBatch();
    }
    await b.endBatch();
    const loadMs = performance.now() - t0;
    // steady state: read-modify-write on random keys
    const rnd = random(1);
    const updates = Math.min(UPDATES, keys);
    const stats = (b as { stats?: { hits: number; misses: number } }).stats;
    const hits0 = stats ? stats.hits : 0;
    const misses0 = stats ? stats.misses : 0;
    const cpu0 = mainThreadCpuMs();
    t0 = performance.now();
    for (let i = 0; i < updates; i++) {
      b.setCurrentKey(key(Math.floor(rnd() * keys)));
      count.update((count.value() ?? 0) + 1);
      if ((i + 1) % BATCH === 0) await b.endBatch();
    }
    await b.endBatch();
    const updateMs = performance.now() - t0;
    const updateCpuMs = mainThreadCpuMs() - cpu0;
    const cacheHitRate = stats ? (stats.hits - hits0) / (stats.hits - hits0 + stats.misses - misses0) : null;
    gc();
    const heapMB = process.memoryUsage().heapUsed / 1e6;
    // full checkpoint (for fs and level: the base of the incremental chain)
    const size = (h: Awaited<ReturnType<ReturnType<KeyedStateBackend['snapshot']>['run']>>) =>
      name === 'memory' ? (h?.size ?? 0) : files.bytesWritten(currentId);
    let currentId = 1;
    t0 = performance.now();
    const full = await b.snapshot(1).run();
    const fullMs = performance.now() - t0;
    const fullBytes = size(full);
    let incrementalMs: number | null = null;
    let incrementalFirstMs: number | null = null;
    let incrementalBytes: number | null = null;
    if (backend.features.incremental) {
      b.notifyCheckpointComplete?.(1);
      const times: number[] = [];
      const bytes: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const changed = Math.floor(keys * CHANGED);
        for (let i = 0; i < changed; i++) {
          b.setCurrentKey(key(Math.floor(rnd() * keys)));
          count.update((count.value() ?? 0) + 1);
          if ((i + 1) % BATCH === 0) await b.endBatch();
        }
        await b.endBatch();
        currentId = 2 + round;
        gc(); // as before the full checkpoint: the checkpoint is timed, not the collection of the work before it
        t0 = performance.now();
        const delta = await b.snapshot(currentId).run();
        times.push(performance.now() - t0);
        bytes.push(size(delta));
        if (delta?.type !== 'incremental' || delta.deltas.length !== round + 1)
          throw new Error(`expected a delta, got ${JSON.stringify(delta?.type)}`);
        b.notifyCheckpointComplete?.(currentId);
      }
      const middle = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      incrementalMs = middle(times);
      incrementalFirstMs = times[0]!;
      incrementalBytes = middle(bytes);
    }
    await b.dispose();
    return {
      backend: name,
      keys,
      loadPerSec: keys / (loadMs / 1000),
      updatePerSec: updates / (updateMs / 1000),
      updatePerCpuSec: updates / (updateCpuMs / 1000),
      cacheHitRate,
      heapMB,
      fullMs,
      fullBytes,
      incrementalMs,
      incrementalFirstMs,
      incrementalBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const caseArg = process.argv.indexOf('--case');
if (caseArg > 0) {
  const [name, keys] = process.argv[caseArg + 1]!.split(':');
  const floeArg = process.argv.indexOf('--floe');
  console.log(JSON.stringify(await runCase(floeArg > 0 ? process.argv[floeArg + 1] : undefined, name!, Number(keys))));
} else {
  const sizes = (process.env.FLOE_BENCH_KEYS ?? '100000,1000000').split(',').map(Number);
  const heapMax = Number(process.env.FLOE_BENCH_HEAP_MAX ?? 1_000_000);
  const script = fileURLToPath(import.meta.url);
  const baseline = baselineOption();
  const runs = Number(process.env.FLOE_BENCH_RUNS ?? (baseline ? 3 : 1));
  // each side is this script in a fresh process; the baseline's imports its checkout's src/
  const trees: Array<[string, string[]]> = baseline
    ? [
        ['', []],
        ['@baseline', ['--floe', baseline]],
      ]
    : [['', []]];
  const cases: Array<{ name: string; keys: number }> = [];
  for (const keys of sizes)
    for (const name of ['memory', 'fs', 'level']) if (name === 'level' || keys <= heapMax) cases.push({ name, keys });
  const runsOf = new Map<string, CaseResult[]>();
  const id = (backend: string, keys: number) => `${backend}:${keys}`;
  for (let round = 0; round < runs; round++) {
    for (const c of cases) {
      // both sides of a case back to back, the first one alternating by round: they share the machine's moment
      const order = round % 2 ? [...trees].reverse() : trees;
      for (const [label, extra] of order) {
        process.stdout.write(`${runs > 1 ? `round ${round + 1}/${runs}: ` : ''}${c.name}${label} × ${c.keys.toLocaleString()} keys... `);
        const argv = ['--expose-gc', '--max-old-space-size=8192', '--import=tsx', script, '--case', `${c.name}:${c.keys}`, ...extra];
        const out = execFileSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 20 });
        const r = JSON.parse(out.trim().split('\n').pop()!) as CaseResult;
        console.log(
          `${Math.round(r.updatePerSec).toLocaleString()} updates/s, ${Math.round(r.updatePerCpuSec).toLocaleString()} per CPU-s`,
        );
        const key = id(c.name + label, c.keys);
        runsOf.set(key, [...(runsOf.get(key) ?? []), { ...r, backend: c.name + label }]);
      }
    }
  }
  // medians over the rounds, figure by figure
  const mid = (rs: CaseResult[], f: (r: CaseResult) => number | null): number | null =>
    f(rs[0]!) === null ? null : median(rs.map((r) => f(r)!));
  const results: CaseResult[] = [...runsOf.values()].map((rs) => ({
    backend: rs[0]!.backend,
    keys: rs[0]!.keys,
    loadPerSec: mid(rs, (r) => r.loadPerSec)!,
    updatePerSec: mid(rs, (r) => r.updatePerSec)!,
    updatePerCpuSec: mid(rs, (r) => r.updatePerCpuSec)!,
    cacheHitRate: mid(rs, (r) => r.cacheHitRate),
    heapMB: mid(rs, (r) => r.heapMB)!,
    fullMs: mid(rs, (r) => r.fullMs)!,
    fullBytes: mid(rs, (r) => r.fullBytes)!,
    incrementalMs: mid(rs, (r) => r.incrementalMs),
    incrementalFirstMs: mid(rs, (r) => r.incrementalFirstMs),
    incrementalBytes: mid(rs, (r) => r.incrementalBytes),
  }));
  console.log();
  const k = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
  const mb = (n: number) => (n / 1e6).toFixed(2);
  printTable(
    results.map((r) => {
      const memory = results.find((m) => m.backend === 'memory' && m.keys === r.keys);
      const base = results.find((m) => m.backend === `${r.backend}@baseline` && m.keys === r.keys);
      return {
        backend: r.backend,
        keys: k(r.keys),
        'load rec/s': Math.round(r.loadPerSec).toLocaleString(),
        'update rec/s': Math.round(r.updatePerSec).toLocaleString(),
        'vs memory': memory ? (r.updatePerSec / memory.updatePerSec).toFixed(2) : '-',
        'update rec/CPU-s': Math.round(r.updatePerCpuSec).toLocaleString(),
        ...(baseline ? { 'vs baseline (CPU-s)': base ? (r.updatePerCpuSec / base.updatePerCpuSec).toFixed(2) : '-' } : {}),
        'cache hits': r.cacheHitRate === null ? '-' : `${(100 * r.cacheHitRate).toFixed(0)}%`,
        'heap MB': r.heapMB.toFixed(0),
        'full ms': r.fullMs.toFixed(0),
        'full MB': mb(r.fullBytes),
        'incr (1%) ms': r.incrementalMs === null ? '-' : r.incrementalMs.toFixed(0),
        'first incr ms': r.incrementalFirstMs === null ? '-' : r.incrementalFirstMs.toFixed(0),
        'incr MB': r.incrementalBytes === null ? '-' : mb(r.incrementalBytes),
        'incr/full bytes': r.incrementalBytes === null ? '-' : (r.incrementalBytes / r.fullBytes).toFixed(3),
        'incr/full time': r.incrementalMs === null ? '-' : (r.incrementalMs / r.fullMs).toFixed(3),
        'first/full time': r.incrementalFirstMs === null ? '-' : (r.incrementalFirstMs / r.fullMs).toFixed(3),
      };
    }),
  );
  const vsBaseline: Array<Record<string, string | number>> = [];
  if (baseline) {
    // per round: this tree's figure against the baseline's of the same round (rates: > 1 faster; times: < 1 faster)
    const perRound = (mine: CaseResult[], theirs: CaseResult[], f: (r: CaseResult) => number | null) =>
      mine.map((m, i) => (f(m) === null || !f(theirs[i]!) ? NaN : f(m)! / f(theirs[i]!)!));
    for (const c of cases) {
      const mine = runsOf.get(id(c.name, c.keys))!;
      const theirs = runsOf.get(id(`${c.name}@baseline`, c.keys))!;
      vsBaseline.push({
        backend: c.name,
        keys: k(c.keys),
        'load rec/s': ratioText(perRound(mine, theirs, (r) => r.loadPerSec)),
        'update rec/s': ratioText(perRound(mine, theirs, (r) => r.updatePerSec)),
        'update rec/CPU-s': ratioText(perRound(mine, theirs, (r) => r.updatePerCpuSec)),
        'full ms': ratioText(perRound(mine, theirs, (r) => r.fullMs)),
        'incr ms': ratioText(perRound(mine, theirs, (r) => r.incrementalMs)),
        'full bytes': ratioText(perRound(mine, theirs, (r) => r.fullBytes)),
      });
    }
    console.log(`\nthis/baseline (${baseline}), median of ${runs} per-round ratios (range); rates > 1 and times < 1 are faster\n`);
    printTable(vsBaseline);
  }
  console.log(
    `\nrecords: setCurrentKey + ValueState read-modify-write, endBatch every ${BATCH}; rec/CPU-s: per second of main-thread CPU; medians of ${runs} round(s)`,
  );
  console.log(
    `incremental: ${ROUNDS} rounds of ${CHANGED * 100}% of keys changed then a checkpoint, each on a confirmed chain (median; "first" is round 1, cold code)`,
  );
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  const figures = {
    batch: BATCH,
    updates: UPDATES,
    changed: CHANGED,
    rounds: ROUNDS,
    runs,
    baseline: baseline ?? null,
    loadavg: loadavg(),
  };
  console.log(`written to ${writeResults('backends', { ...figures, results, runsOf: Object.fromEntries(runsOf), vsBaseline })}`);
}
