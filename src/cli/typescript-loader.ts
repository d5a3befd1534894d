// tsx, floe's TypeScript loader, registered only when a job file needs it: a JavaScript job starts without it.
import { extname } from 'node:path';

/** What Node cannot run without a compiler. */
const TYPESCRIPT_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.jsx'];

/** Set by whoever registered tsx (bin/floe.js running floe's sources): registering twice would compile twice. */
const REGISTERED = Symbol.for('floe.typescript-loader');

export const needsTypeScriptLoader = (file: string) => TYPESCRIPT_EXTENSIONS.includes(extname(file).toLowerCase());

/**
 * Registers tsx's ES-module and CommonJS hooks (both: a job file outside an ES-module package, with no
 * "type": "module" nearby, is loaded as CommonJS, and with only the ESM hook Node 20 fails it with
 * ERR_REQUIRE_CYCLE_MODULE).
 */
export function registerTypeScriptLoader(): Promise<void> {
  // the registration's promise, not a flag: a second caller while it runs (a TaskManager's --preload and
  // its first deploy) must wait for the hooks, else its import of a .ts file fails with
  // ERR_UNKNOWN_FILE_EXTENSION, and Node caches that failure for the file's URL
  const global = globalThis as { [REGISTERED]?: boolean | Promise<void> };
  const registered = global[REGISTERED];
  if (registered) return registered === true ? Promise.resolve() : registered;
  const registering = Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
  });
  global[REGISTERED] = registering;
  return registering;
}
