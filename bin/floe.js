#!/usr/bin/env node
// The floe command: loads TypeScript support (for floe's sources and for job files), then the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
