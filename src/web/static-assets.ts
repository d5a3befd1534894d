// The files of floe's pages (dashboard, inspector): shipped in the package, served from disk, nothing from another host.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { FROM_SOURCE, packagePath } from '../package-files.ts';

// from source, the folder beside this file; built, the copy `npm run build` makes in dist/
const ASSETS_DIR = packagePath(FROM_SOURCE ? 'src' : 'dist', 'web', 'assets') + sep;
const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** Files served by name only (no path from the request reaches the file system). */
const FILES: Record<string, () => string> = {
  'inspector.html': () => ASSETS_DIR + 'inspector.html',
  'inspector.js': () => ASSETS_DIR + 'inspector.js',
  'actor-view.js': () => ASSETS_DIR + 'actor-view.js',
  'dashboard.html': () => ASSETS_DIR + 'dashboard.html',
  'dashboard.js': () => ASSETS_DIR + 'dashboard.js',
  'job-graph-view.js': () => ASSETS_DIR + 'job-graph-view.js',
  'floe.css': () => ASSETS_DIR + 'floe.css',
  // the graph layout library (UMD build, sets window.dagre): the copy `npm run build` puts next to the pages in dist/,
  // so an installed floe never looks into node_modules for it; run from the sources (tsx), the dependency itself
  'dagre.js': () =>
    existsSync(ASSETS_DIR + 'dagre.js')
      ? ASSETS_DIR + 'dagre.js'
      : join(dirname(require.resolve('@dagrejs/dagre/package.json')), 'dist', 'dagre.min.js'),
};

export interface Asset {
  body: Buffer;
  type: string;
}

const cache = new Map<string, Asset>();

/** The asset of that name, or undefined when floe ships none by that name. */
export async function readAsset(name: string): Promise<Asset | undefined> {
  if (!Object.hasOwn(FILES, name)) return undefined;
  let asset = cache.get(name);
  if (!asset) {
    asset = { body: await readFile(FILES[name]!()), type: TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream' };
    cache.set(name, asset);
  }
  return asset;
}
