#!/usr/bin/env node
// The floe command: loads TypeScript support (for floe's sources and for job files), then the CLI.
import { register as registerEsm } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

// Both hooks: a job file outside an ES-module package (no "type": "module" nearby) is loaded as
// CommonJS, and with only the ESM hook Node 20 fails it with ERR_REQUIRE_CYCLE_MODULE.
registerEsm();
registerCjs();
// `floe savepoint inspect ... --dump | head`: a closed pipe ends the output, it is no crash
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
