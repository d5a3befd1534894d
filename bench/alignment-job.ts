// One run of the alignment bench (a scenario in one mode) in a child process, on this checkout's or another one's src/: both sides of a before/after run.
//
// node --import=tsx bench/alignment-job.ts <scenario.yaml> <mode> <durationMs> [--floe <checkout>]
// prints one JSON line: the ModeResult of src/bench/alignment-bench.ts's runMode (present, same signature, in
// every checkout since the alignment bench).
import { importFrom } from './baseline.ts';

const [file, mode, duration, ...rest] = process.argv.slice(2);
if (!file || !mode || !duration) {
  console.error('usage: node --import=tsx bench/alignment-job.ts <scenario.yaml> <mode> <durationMs> [--floe <checkout>]');
  process.exit(2);
}
const i = rest.indexOf('--floe');
const root = i < 0 ? undefined : rest[i + 1];
const [{ loadScenario }, { parseModes, runMode }] = await Promise.all([
  importFrom<typeof import('../src/bench/scenario.ts')>(root, 'src/bench/scenario.ts'),
  importFrom<typeof import('../src/bench/alignment-bench.ts')>(root, 'src/bench/alignment-bench.ts'),
]);
const result = await runMode(await loadScenario(file), parseModes(mode)[0]!, { durationMs: Number(duration) });
console.log(JSON.stringify(result));
