#!/usr/bin/env node
// The floe command. Runs the compiled dist/ (what the package ships: no TypeScript compiler at start-up);
// in a checkout, runs src/ under tsx instead when FLOE_FROM_SOURCE=1, or when dist/ is missing or older
// than src/ (so an edit is never run stale). The TypeScript loader is otherwise loaded only for a
// TypeScript job file (src/cli/typescript-loader.ts).
import { existsSync, readdirSync, statSync } from 'node:fs';
import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** The newest modification time of the files under a folder. */
function newest(dir) {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) time = Math.max(time, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return time;
}

function fromSource() {
  if (!existsSync(at('src/cli/main.ts'))) return false; // an installed package: dist/ only
  if (process.env.FLOE_FROM_SOURCE === '1') return true;
  if (process.env.FLOE_FROM_SOURCE === '0') return false;
  return !existsSync(at('dist/cli/main.js')) || newest(at('src')) > statSync(at('dist/index.js')).mtimeMs;
}

// `floe savepoint inspect ... --dump | head`: a closed pipe ends the output, it is no crash
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

let main;
if (fromSource()) {
  const [{ register: registerEsm }, { register: registerCjs }] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  registerEsm();
  registerCjs();
  // src/cli/typescript-loader.ts: registered once
  globalThis[Symbol.for('floe.typescript-loader')] = true;
  // a job's `import 'floe'` gets src/ too (package.json's "floe-source" condition): one copy of floe's classes
  register(
    `data:text/javascript,${encodeURIComponent(
      "export function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, 'floe-source'] }); }",
    )}`,
  );
  // and so does a CommonJS job's require('floe') (tsx compiles a job outside an ES-module package to CommonJS)
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request === 'floe') {
      let manifest;
      try {
        manifest = resolveFilename.call(this, 'floe/package.json', ...rest);
      } catch {
        // not this package: the resolution below says what is missing
      }
      if (manifest === at('package.json')) return at('src/index.ts');
    }
    return resolveFilename.call(this, request, ...rest);
  };
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import('../dist/cli/main.js'));
}
process.exitCode = await main(process.argv);
