// End to end at large state: records/s and checkpoint duration while records flow, for examples/big-state on the level backend.
//
//   npm run bench -- big-state                                   # 1.5M keys, 2 rounds, checkpoints every 3s and every hour
//   FLOE_BENCH_KEYS=1000000,2000000 FLOE_BENCH_BASELINE=/path/to/other/checkout npm run bench -- big-state
//
// Each case is a real `floe run` in a child process (the example's keyed count, FileSink output,
// checkpoints every interval of FLOE_BENCH_INTERVALS: 3s takes checkpoints while records flow, 1h
// only the final one, so records/s there is the record path alone). `FLOE_BENCH_BASELINE=<dir>` runs the same case in another
// checkout right before this tree's, so before/after share the machine's moment. A checkpoint
// counts as "while processing" if it completed before the job finished its input (the last
// completed one may be the final checkpoint after input ended, and is reported apart).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, writeResults } from './report.ts';

interface CaseResult {
  tree: string;
  interval: string;
  keys: number;
  rounds: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  /** user + system CPU seconds of the floe process */
  cpuSeconds: number;
  checkpoints: Array<{ id: number; ms: number; mib: number }>;
}

const here = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.env.FLOE_BENCH_ROUNDS ?? 2);
const intervals = (process.env.FLOE_BENCH_INTERVALS ?? '3s,1h').split(',');

function runCase(tree: string, root: string, keys: number, interval: string): CaseResult {
  const dir = mkdtempSync(join(tmpdir(), 'floe-bench-big-'));
  try {
    const out = execFileSync(
      '/usr/bin/env',
      [
        'bash',
        '-c',
        // `time -p` style CPU accounting from bash's `times` after the child ends
        `${JSON.stringify(process.execPath)} bin/floe.js run examples/big-state/job.ts --state-backend level --checkpoint-dir ${dir}/chk --checkpoint-interval ${interval} 2>&1; s=$?; times; exit $s`,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 16 << 20,
        env: { ...process.env, BIG_STATE_KEYS: String(keys), BIG_STATE_ROUNDS: String(rounds), BIG_STATE_OUT: join(dir, 'out') },
      },
    );
    const finished = /job FINISHED in ([\d.]+) s/.exec(out);
    if (!finished) throw new Error(`${tree}: the job did not finish:\n${out}`);
    const checkpoints = [...out.matchAll(/checkpoint (\d+) completed in (\d+) ms.*state ([\d.]+) (KiB|MiB|B)/g)].map((m) => ({
      id: Number(m[1]),
      ms: Number(m[2]),
      mib: Number(m[3]) / (m[4] === 'KiB' ? 1024 : m[4] === 'B' ? 1 << 20 : 1),
    }));
    // the last line of `times` is the children's user and system time, e.g. "0m11.561s 0m0.999s"
    const cpu = out
      .trim()
      .split('\n')
      .pop()!
      .split(/\s+/)
      .map((t) => {
        const m = /(\d+)m([\d.]+)s/.exec(t);
        return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
      });
    const seconds = Number(finished[1]);
    return {
      tree,
      interval,
      keys,
      rounds,
      records: keys * rounds,
      seconds,
      recordsPerSec: (keys * rounds) / seconds,
      cpuSeconds: cpu[0]! + cpu[1]!,
      checkpoints,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = (process.env.FLOE_BENCH_KEYS ?? '1500000').split(',').map(Number);
const baseline = process.env.FLOE_BENCH_BASELINE;
const trees: Array<[string, string]> = baseline
  ? [
      ['baseline', baseline],
      ['this tree', here],
    ]
  : [['this tree', here]];
const results: CaseResult[] = [];
for (const keys of sizes) {
  for (const interval of intervals)
    for (const [tree, root] of trees) {
      process.stdout.write(`${tree} × ${keys.toLocaleString()} keys × ${rounds} rounds, checkpoints every ${interval}... `);
      const r = runCase(tree, root, keys, interval);
      console.log(
        `${Math.round(r.recordsPerSec).toLocaleString()} records/s, checkpoints ${r.checkpoints.map((c) => `${c.ms} ms`).join(', ')}`,
      );
      results.push(r);
    }
}
console.log();
const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
/** checkpoints taken while records flowed: all but the last completed one, which may be the final checkpoint after input ended */
const during = (r: CaseResult) => r.checkpoints.slice(0, -1);
printTable(
  results.map((r) => {
    const base = results.find((b) => b.tree === 'baseline' && b.keys === r.keys && b.interval === r.interval);
    const ms = median(during(r).map((c) => c.ms));
    const mibPerSec = median(during(r).map((c) => c.mib / (c.ms / 1000)));
    return {
      tree: r.tree,
      keys: r.keys.toLocaleString(),
      interval: r.interval,
      checkpoints: r.checkpoints.length,
      'records/s': Math.round(r.recordsPerSec).toLocaleString(),
      'vs baseline': base && base !== r ? (r.recordsPerSec / base.recordsPerSec).toFixed(2) : '-',
      'records/CPU-s': Math.round(r.records / r.cpuSeconds).toLocaleString(),
      'ckpts while processing': during(r)
        .map((c) => `${c.ms}ms/${c.mib.toFixed(1)}MiB`)
        .join(' '),
      'median ms': Number.isNaN(ms) ? '-' : ms.toFixed(0),
      'MiB/s': Number.isNaN(mibPerSec) ? '-' : mibPerSec.toFixed(1),
      'vs baseline MiB/s':
        base && base !== r && during(r).length && during(base).length
          ? (mibPerSec / median(during(base).map((c) => c.mib / (c.ms / 1000)))).toFixed(2)
          : '-',
      'last ckpt': r.checkpoints.length ? `${r.checkpoints.at(-1)!.ms}ms/${r.checkpoints.at(-1)!.mib.toFixed(1)}MiB` : '-',
    };
  }),
);
console.log(
  `\nexamples/big-state on level, ${rounds} rounds; checkpoints: completed ones, each a full snapshot; records/CPU-s: per CPU second of the floe process (all threads)`,
);
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} cores`,
);
console.log(`written to ${writeResults('big-state', { rounds, intervals, loadavg: loadavg(), results })}`);
