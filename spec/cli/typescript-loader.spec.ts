// The TypeScript loader's registration: callers at the same time (a TaskManager's --preload and its first deploy) share one, and each waits for the hooks.
import t from 'tap';
import { registerTypeScriptLoader } from '../../src/cli/typescript-loader.ts';

const REGISTERED = Symbol.for('floe.typescript-loader');

t.test('a second registration while the first runs waits for the same one', async (t) => {
  const global = globalThis as { [REGISTERED]?: unknown };
  const before = global[REGISTERED];
  delete global[REGISTERED];
  t.teardown(() => void (global[REGISTERED] = before));
  const first = registerTypeScriptLoader();
  const second = registerTypeScriptLoader();
  t.equal(second, first, 'the second caller gets the registration in progress, not a promise already resolved');
  await Promise.all([first, second]);
  t.equal(global[REGISTERED], first, 'the registration is remembered');
  global[REGISTERED] = true; // as bin/floe.js marks it when it runs floe's sources under tsx
  await t.resolves(registerTypeScriptLoader(), 'registered by the bin: nothing to wait for');
});
