// Part of `npm run build`, after tsc: links the JavaScript tsc wrote into dist/ into its entry points and shared
// chunks (esbuild), and keeps tsc's .d.ts files. Node pays for every module it loads (resolve, read, compile):
// a job that imported dist/index.js loaded about 100 of floe's modules; now it loads the entry point and a few
// chunks, and its start-up takes about 15 ms less. What a job does not use stays out, in chunks loaded on demand
// (the level backend, savepoints, the REST server, ...). Dependencies are not bundled: they load from node_modules
// as before. Every entry point is built in one pass, so the library and the CLI share one copy of each class.
import { build } from 'esbuild';
import { readdirSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
/** what is loaded by path: the library, the CLI (bin/floe.js), and the job file the bench's TaskManagers preload */
const ENTRY_POINTS = ['index.js', 'cli/main.js', 'bench/scenario-job-file.js'];
const out = join(dist, '.bundle');

await build({
  entryPoints: ENTRY_POINTS.map((e) => join(dist, e)),
  outbase: dist,
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});

// tsc's modules are in the bundle now: only their declarations stay
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  const path = join(entry.parentPath ?? entry.path, entry.name);
  if (entry.isFile() && entry.name.endsWith('.js') && !path.startsWith(out)) rmSync(path);
}
for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const from = join(entry.parentPath ?? entry.path, entry.name);
  const to = join(dist, from.slice(out.length + 1));
  mkdirSync(dirname(to), { recursive: true });
  renameSync(from, to);
}
rmSync(out, { recursive: true });
