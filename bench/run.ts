// `npm run bench -- <name>`: runs bench/<name>.ts (each file answers one question).
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const names = readdirSync(fileURLToPath(new URL('.', import.meta.url)))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'report.ts')
  .map((f) => f.slice(0, -3));
const name = process.argv[2];
if (!name || !names.includes(name)) {
  console.error(`usage: npm run bench -- <${names.join('|')}> [options]`);
  process.exit(name ? 1 : 0);
}
await import(`./${name}.ts`);
