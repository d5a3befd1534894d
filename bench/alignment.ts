// Alignment: what exactly-once alignment costs against at-least-once, unaligned and aligned-timeout, per shipped scenario.
// `npm run bench -- alignment [scenario.yaml...] [--modes ...] [--duration 10s] [--out dir] [--levels 0,0.5,1]`
import { Command } from 'commander';
import { registerBenchCommand } from '../src/cli/bench-command.ts';

const program = new Command('bench').exitOverride();
registerBenchCommand(program, (line) => console.log(line), () => {});
await program.parseAsync(['bench', 'alignment', '--out', new URL('./results/', import.meta.url).pathname, ...process.argv.slice(3)], { from: 'user' });
