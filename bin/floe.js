#!/usr/bin/env node
// The floe command: loads TypeScript support (for floe's sources and for job files), then the CLI.
import { register } from 'tsx/esm/api';

register();
// `floe savepoint inspect ... --dump | head`: a closed pipe ends the output, it is no crash
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
