// Savepoints: time and size of a savepoint, and restore time, at 100 thousand and 1 million keys per backend, against a plain fsync'd write.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { mkdir, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectSink, Savepoint, StreamExecutionEnvironment, valueState, type JobClient } from '../src/index.ts';
import type { ListState } from '../src/backends/types.ts';
import type { OperatorContext, Output, PollResult, Source, SourceReader } from '../src/operators/operator.ts';
import { syncDir } from '../src/storage/durable-files.ts';
import { Level } from 'level';
import { assignToKeyGroup } from '../src/backends/key-groups.ts';
import { encodeKey, keyTag } from '../src/backends/level-key-codec.ts';
import { encodeValue } from '../src/backends/level-value-codec.ts';
import { printTable, writeResults } from './report.ts';

const BACKENDS = (process.env.FLOE_BENCH_BACKENDS ?? 'memory,fs,level')
  .split(',')
  .map((b) => b.trim())
  .filter(Boolean);
const KEYS = (process.env.FLOE_BENCH_KEYS ?? '100000,1000000').split(',').map(Number);
const PARALLELISM = Number(process.env.FLOE_BENCH_PARALLELISM ?? 2);
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 2);
const root = mkdtempSync(join(tmpdir(), 'floe-bench-savepoint-'));

/**
 * Emits the keys 0..n-1 once, split over the subtasks; its position is operator state, so a restore
 * emits nothing again. Once `gate.open`, it emits `updates` more records (every 100th key again).
 */
class KeySource implements Source<number> {
  readonly name = 'keys';
  constructor(
    readonly n: number,
    readonly gate = { open: false, updates: 0 },
  ) {}
  createReader(): SourceReader<number> {
    const n = this.n;
    const gate = this.gate;
    let state: ListState<{ next: number; end: number; updated?: number }>;
    let next = 0;
    let end = -1;
    let updated = 0;
    let share = 0;
    let first = 0;
    return {
      open(context: OperatorContext) {
        state = context.operatorState.getListState('position');
        share = Math.floor(gate.updates / context.parallelism);
        first = Math.floor((context.subtaskIndex * n) / context.parallelism);
        const restored = state.get()[0];
        if (restored) ({ next, end, updated = 0 } = restored);
        else {
          next = Math.floor((context.subtaskIndex * n) / context.parallelism);
          end = Math.floor(((context.subtaskIndex + 1) * n) / context.parallelism) - 1;
        }
      },
      poll(output: Output<number>, max: number): PollResult {
        const stop = Math.min(end, next + max - 1);
        for (; next <= stop; next++) output.collect(next);
        if (next <= end) return 'more';
        if (!gate.open) return gate.updates > 0 ? 'idle' : 'end';
        // every 100th key of this subtask's range again
        for (let i = 0; i < max && updated < share; i++, updated++) output.collect((first + updated * 100) % n);
        return updated < share ? 'more' : 'end';
      },
      snapshotState() {
        state.update([{ next, end, updated }]);
      },
    };
  }
}

let processed = 0;

/** FLOE_BENCH_PROFILE=<dir>: a CPU profile of each savepoint and each restore alone (open in Chrome DevTools) */
const PROFILE_DIR = process.env.FLOE_BENCH_PROFILE;
const session = PROFILE_DIR ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
}
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!session) return fn();
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(PROFILE_DIR!, `${name}.cpuprofile`), JSON.stringify(profile));
  }
}

function environment(
  backend: string,
  keys: number,
  extra: Record<string, unknown>,
  gate?: { open: boolean; updates: number },
): StreamExecutionEnvironment {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': PARALLELISM,
    // no periodic checkpoint during the measurement: the savepoint is the only snapshot
    'execution.checkpointing.interval': '1h',
    'restart-strategy.type': 'none',
    'state.backend.type': backend,
    'state.backend.memory.max-snapshot-size': 1 << 30,
    'state.checkpoints.dir': join(root, 'checkpoints'),
    ...extra,
  });
  env
    .fromSource(new KeySource(keys, gate), 'keys')
    .uid('keys')
    .keyBy((n: number) => `user-${n}`)
    .process((n: number, ctx) => {
      const count = ctx.getState(valueState<number>('count', 0));
      count.update(count.value()! + n);
      processed++;
    })
    .uid('count')
    .sinkTo(new CollectSink<never>([]))
    .uid('sink');
  return env;
}

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 10));
}

/** Writes `sizes` bytes into as many files, each fsync'd, then the directory: what the savepoint writes, without floe. */
async function plainWrite(dir: string, sizes: number[]): Promise<number> {
  const buffers = sizes.map((s) => Buffer.alloc(s, 7));
  const t0 = performance.now();
  for (let i = 0; i < sizes.length; i++) {
    const fh = await open(join(dir, `file-${i}`), 'wx');
    await fh.writeFile(buffers[i]!);
    await fh.sync();
    await fh.close();
  }
  await syncDir(dir);
  return performance.now() - t0;
}

/**
 * What reading the keys out of LevelDB costs by itself: the same keys and values, stored as the level
 * backend stores them, in one LevelDB per subtask, scanned with `nextv` in the backend's batches,
 * both scans at once as the subtasks' are. A full savepoint of level cannot be faster than this.
 */
async function levelScanMs(dir: string, keys: number): Promise<number> {
  const dbs = await Promise.all(
    Array.from({ length: PARALLELISM }, async (_, i) => {
      const db = new Level<string, string>(join(dir, `scan-${i}`), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      await db.open();
      return db;
    }),
  );
  const batches = dbs.map((db) => db.batch());
  for (let n = 0; n < keys; n++) {
    const key = `user-${n}`;
    const kg = assignToKeyGroup(key, 128);
    batches[Math.floor((kg * PARALLELISM) / 128)]!.put(encodeKey(kg, 0, keyTag(key)), encodeValue(n, 'count'));
  }
  await Promise.all(batches.map((b) => b.write()));
  const t0 = performance.now();
  await Promise.all(
    dbs.map(async (db) => {
      const it = db.iterator({ highWaterMarkBytes: 2 << 20 } as never);
      while ((await it.nextv(4096)).length > 0);
      await it.close();
    }),
  );
  const ms = performance.now() - t0;
  await Promise.all(dbs.map((db) => db.close()));
  return ms;
}

/**
 * `full`: the savepoint is the job's first snapshot, every key serialised. `incremental`: incremental
 * checkpoints on (fs, level), one completed after the keys were loaded, then 1% of the keys updated:
 * the savepoint writes a delta and copies the chain, as a job with regular checkpoints has one.
 */
type Mode = 'full' | 'incremental';
const MODES = (process.env.FLOE_BENCH_MODES ?? 'full,incremental').split(',').map((m) => m.trim()) as Mode[];

interface Measured {
  backend: string;
  mode: Mode;
  keys: number;
  bytes: number;
  files: number;
  savepointMs: number;
  plainWriteMs: number;
  restoreMs: number;
  validateMs: number;
  /** level, full: a bare LevelDB scan of the same entries (see levelScanMs) */
  scanMs?: number;
}

async function measure(backend: string, mode: Mode, keys: number, run: number): Promise<Measured> {
  const dir = join(root, `${backend}-${mode}-${keys}-${run}`);
  processed = 0;
  const gate = { open: false, updates: mode === 'incremental' ? keys / 100 : 0 };
  const incremental = { 'execution.checkpointing.incremental': mode === 'incremental' };
  const client: JobClient = await environment(backend, keys, incremental, gate).executeAsync(`savepoint bench ${backend}`);
  // sources that end wait for a checkpoint instead of finishing the job: the job stays up, idle
  client.master.holdCheckpoints(true);
  await until(() => processed === keys);
  if (mode === 'incremental') {
    await client.master.triggerCheckpoint(); // the chain's full base (not timed)
    gate.open = true;
    await until(() => processed === keys + gate.updates);
  }
  const t0 = performance.now();
  const path = await profiled(`savepoint-${backend}-${mode}-${keys}`, () => client.triggerSavepoint(join(dir, 'savepoints')));
  const savepointMs = performance.now() - t0;
  await client.getJobExecutionResult();

  const files = readdirSync(path).filter((f) => f !== '_metadata');
  const sizes = files.map((f) => statSync(join(path, f)).size);
  const bytes = sizes.reduce((a, b) => a + b, 0) + statSync(join(path, '_metadata')).size;
  const plainDir = join(dir, 'plain');
  await mkdir(plainDir, { recursive: true });
  const plainWriteMs = await plainWrite(plainDir, [...sizes, statSync(join(path, '_metadata')).size]);

  // restore: from submitting the job to every task running with its state loaded (validation included)
  const r0 = performance.now();
  let validateMs = 0;
  const restored = await profiled(`restore-${backend}-${mode}-${keys}`, async () => {
    // executeAsync resolves once the savepoint is validated (every file read, checksummed) and the tasks deploy
    const job = await environment(backend, keys, { 'execution.savepoint.path': path }).executeAsync(`restore bench ${backend}`);
    validateMs = performance.now() - r0;
    await new Promise<void>((resolve) => job.on('running', () => resolve()));
    return job;
  });
  const restoreMs = performance.now() - r0;
  await restored.cancel();

  // the savepoint holds every key (checked offline, not timed)
  const [count] = (await (await Savepoint.load(path)).operators()).filter((o) => o.uid === 'count');
  if (count?.states[0]?.keys !== keys) throw new Error(`savepoint of ${backend} holds ${count?.states[0]?.keys} keys, expected ${keys}`);
  const scanMs = backend === 'level' && mode === 'full' ? await levelScanMs(dir, keys) : undefined;
  rmSync(dir, { recursive: true, force: true });
  return { backend, mode, keys, bytes, files: files.length + 1, savepointMs, plainWriteMs, restoreMs, validateMs, scanMs };
}

const results: Measured[] = [];
const skipped: Record<string, string> = {};
const cases = BACKENDS.flatMap((backend) => MODES.filter((m) => m === 'full' || backend !== 'memory').map((mode) => ({ backend, mode })));
for (const { backend, mode } of cases) {
  if (skipped[backend]) continue;
  for (const keys of KEYS) {
    let best: Measured | undefined;
    try {
      for (let run = 0; run < RUNS; run++) {
        const m = await measure(backend, mode, keys, run);
        if (!best || m.savepointMs < best.savepointMs) best = m;
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'FLOE_BACKEND_UNAVAILABLE' && code !== 'FLOE_CONFIG_BAD_VALUE') throw error;
      skipped[backend] = `${code}: ${(error as Error).message}`;
      break;
    }
    results.push(best!);
    console.log(`${backend} ${mode}, ${keys.toLocaleString()} keys: savepoint ${best!.savepointMs.toFixed(0)} ms`);
  }
}

const mb = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
printTable(
  results.map((r) => ({
    case: `${r.backend} ${r.mode}, ${r.keys.toLocaleString()} keys (p=${PARALLELISM})`,
    'size MB': (r.bytes / 1e6).toFixed(1),
    'savepoint ms': r.savepointMs.toFixed(0),
    'savepoint MB/s': mb(r.bytes, r.savepointMs).toFixed(0),
    'plain write MB/s': mb(r.bytes, r.plainWriteMs).toFixed(0),
    'savepoint / plain': (r.plainWriteMs / r.savepointMs).toFixed(2),
    'restore ms': r.restoreMs.toFixed(0),
    'of it validate ms': r.validateMs.toFixed(0),
    'restore MB/s': mb(r.bytes, r.restoreMs).toFixed(0),
    'LevelDB scan alone ms': r.scanMs === undefined ? '-' : r.scanMs.toFixed(0),
  })),
);
for (const [backend, why] of Object.entries(skipped)) console.log(`skipped backend ${backend}: ${why}`);
const worstOf = (mode: Mode) => Math.min(...results.filter((r) => r.mode === mode).map((r) => r.plainWriteMs / r.savepointMs));
const worst = Math.min(...results.map((r) => r.plainWriteMs / r.savepointMs));
for (const mode of MODES) {
  if (results.some((r) => r.mode === mode))
    console.log(
      `\nsavepoint speed / plain fsync'd write of the same bytes, slowest ${mode} case: ${worstOf(mode).toFixed(2)} (target >= 0.33)`,
    );
}
console.log(
  'LevelDB scan alone = the same entries read from bare LevelDB with nextv, as a full level savepoint must read them (its floor)',
);
console.log(
  "savepoint = trigger to path: barriers, each backend serialising its state (full) or its changes since the last checkpoint (incremental), the state files placed in the savepoint directory (moved from the checkpoint storage, hard-linked from its chain, or written) and _metadata, all fsync'd",
);
console.log(
  `results: ${writeResults('savepoint', { parallelism: PARALLELISM, runs: RUNS, results, skipped, target: 1 / 3, worstRatio: worst })}`,
);
rmSync(root, { recursive: true, force: true });
