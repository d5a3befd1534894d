// Files of the floe package itself (package.json, bin/, bench/scenarios/, the web pages' assets, entry points
// run in their own process), found from wherever the code runs: src/ under a TypeScript loader, or dist/,
// where `npm run build` links the modules into a few files and shared chunks (so a module's own folder says
// nothing about where the package's other files are).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This code runs from src/ (TypeScript under a loader), not from the built dist/. */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

let root: string | undefined;

/** The package's root folder: the nearest folder above this code that holds a package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`floe's package.json was not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A file of the package, by its path from the package's root. */
export function packagePath(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}

/** An entry point run on its own (a child process loads it by path): `src/<name>.ts` from source, `dist/<name>.js` built. */
export function entryPoint(name: string): string {
  return FROM_SOURCE ? packagePath('src', `${name}.ts`) : packagePath('dist', `${name}.js`);
}
