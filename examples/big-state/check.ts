// Checks the big-state job's committed output: every key with counts 1..ROUNDS, each exactly once (nothing missing, nothing twice).
//
//   BIG_STATE_KEYS=10000000 node --import=tsx examples/big-state/check.ts [out-dir]
import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { keys, outDir, rounds } from './job.ts';

export interface CheckResult {
  lines: number;
  missing: number;
  duplicates: number;
  /** lines that are no `key-<k> <count>` of this key count and rounds */
  unexpected: number;
  examples: string[];
}

/** Reads every committed part file (hidden in-progress files are not output) and counts what is wrong. */
export async function checkOutput(dir: string, keyCount: number, roundCount: number): Promise<CheckResult> {
  // one counter byte per (key, round): 10 million keys × 2 rounds is 20 MB, not 20 million strings
  const seen = new Uint8Array(keyCount * roundCount);
  const result: CheckResult = { lines: 0, missing: 0, duplicates: 0, unexpected: 0, examples: [] };
  const note = (what: string) => result.examples.length < 10 && result.examples.push(what);
  for (const file of readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()) {
    for await (const line of createInterface({ input: createReadStream(join(dir, file)), crlfDelay: Infinity })) {
      if (line === '') continue;
      result.lines++;
      const m = /^key-(\d+) (\d+)$/.exec(line);
      const key = m ? Number(m[1]) : -1;
      const count = m ? Number(m[2]) : -1;
      if (key < 0 || key >= keyCount || count < 1 || count > roundCount) {
        result.unexpected++;
        note(`unexpected '${line}' in ${file}`);
        continue;
      }
      const i = key * roundCount + count - 1;
      if (seen[i]! > 0) {
        result.duplicates++;
        note(`duplicate '${line}' in ${file}`);
      }
      if (seen[i]! < 255) seen[i]!++;
    }
  }
  for (let i = 0; i < seen.length; i++) {
    if (seen[i] === 0) {
      result.missing++;
      note(`missing 'key-${Math.floor(i / roundCount)} ${(i % roundCount) + 1}'`);
    }
  }
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? outDir();
  const r = await checkOutput(dir, keys(), rounds());
  const ok = r.missing === 0 && r.duplicates === 0 && r.unexpected === 0;
  process.stdout.write(
    `${dir}: ${r.lines} lines, ${r.missing} missing, ${r.duplicates} duplicates, ${r.unexpected} unexpected — ${ok ? 'exactly once' : 'NOT exactly once'}\n`,
  );
  for (const e of r.examples) process.stdout.write(`  ${e}\n`);
  process.exitCode = ok ? 0 : 1;
}
