// Throughput: floe's word count at parallelism 1 against a hand-written loop doing the same work, and checkpoint cost.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
function handWritten(out: string): number {
  const t0 = performance.now();
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
  return performance.now() - t0;
}

async function floe(out: string, checkpointMs: number | undefined): Promise<{ ms: number; checkpoints: number }> {
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
  const result = await env.execute('throughput');
  return { ms: performance.now() - t0, checkpoints: result.checkpoints.completed };
}

function lines(path: string): number {
  const files = statSync(path).isDirectory() ? readdirSync(path).map((f) => join(path, f)) : [path];
  let n = 0;
  for (const f of files) for (const c of readFileSync(f)) if (c === 10) n++;
  return n;
}

const rows: Array<Record<string, string | number>> = [];
const results: Record<string, { ms: number; recordsPerSec: number; checkpoints?: number }> = {};
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 2);
const best = async (fn: (i: number) => Promise<{ ms: number; checkpoints?: number }>) => {
  let r = await fn(0);
  for (let i = 1; i < RUNS; i++) {
    const next = await fn(i);
    if (next.ms < r.ms) r = next;
  }
  return r;
};

const hand = await best(async (i) => {
  const out = join(dir, `hand-${i}.txt`);
  const ms = handWritten(out);
  if (lines(out) !== WORDS) throw new Error('hand-written loop lost records');
  return { ms };
});
results['hand-written loop'] = { ms: hand.ms, recordsPerSec: (WORDS / hand.ms) * 1000 };

for (const [name, interval] of [['floe, checkpoints off', undefined], ['floe, exactly-once every 1 s', 1000]] as const) {
  const r = await best(async (i) => {
    const out = join(dir, `floe-${interval ?? 0}-${i}`);
    const res = await floe(out, interval);
    if (lines(out) !== WORDS) throw new Error(`${name} lost records`);
    return res;
  });
  results[name] = { ms: r.ms, recordsPerSec: (WORDS / r.ms) * 1000, checkpoints: r.checkpoints };
}

const base = results['hand-written loop']!.recordsPerSec;
const off = results['floe, checkpoints off']!.recordsPerSec;
for (const [name, r] of Object.entries(results)) {
  rows.push({
    case: `${name} (${(WORDS / 1e6).toFixed(0)}M words)`,
    'words/s': Math.round(r.recordsPerSec).toLocaleString(),
    'time s': (r.ms / 1000).toFixed(2),
    checkpoints: r.checkpoints ?? '-',
    'vs hand-written': (r.recordsPerSec / base).toFixed(2),
  });
}
printTable(rows);
const ratio = off / base;
const cost = 1 - results['floe, exactly-once every 1 s']!.recordsPerSec / off;
console.log(`\nfloe / hand-written: ${ratio.toFixed(2)} (target >= 0.50)`);
console.log(`checkpointing every 1 s costs ${(cost * 100).toFixed(1)}% against checkpointing off (target < 5%)`);
console.log(`results: ${writeResults('throughput', { words: WORDS, results, ratio, checkpointCost: cost })}`);
rmSync(dir, { recursive: true, force: true });
