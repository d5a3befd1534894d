// `npm run bench -- <name>`: runs bench/<name>.ts (each file answers one question).
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// helpers of the benches, not benches: the report printer, the baseline option, the keyed throughput case, the word count pipeline and the child processes
const HELPERS = new Set([
  'run.ts',
  'report.ts',
  'baseline.ts',
  'keyed-throughput.ts',
  'word-count-job.ts',
  'word-count-pipeline.ts',
  'alignment-job.ts',
]);
const names = readdirSync(fileURLToPath(new URL('.', import.meta.url)))
  .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join('|')}> [options]`);
  process.exit(name ? 1 : 0);
}
await import(`./${name}.ts`);
