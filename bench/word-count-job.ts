// The all-records word count of the throughput bench in a child process, on this checkout's or another one's src/: the baseline side of a before/after run.
//
// node --import=tsx bench/word-count-job.ts <input> <output> [--floe <checkout>] [--checkpoint-ms N]
// prints one JSON line { ms, cpuMs, checkpoints }: the job's execute alone, as the in-process case times it.
import { importFrom } from './baseline.ts';
import { wordCountPipeline } from './word-count-pipeline.ts';

const [input, output, ...rest] = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
if (!input || !output) {
  console.error('usage: node --import=tsx bench/word-count-job.ts <input> <output> [--floe <checkout>] [--checkpoint-ms N]');
  process.exit(2);
}
const checkpointMs = Number(option('--checkpoint-ms') ?? 0);
// the entry every floe checkout has: the job uses only its public API (as the in-process case does)
const { FileSink, StreamExecutionEnvironment } = await importFrom<typeof import('../src/index.ts')>(option('--floe'), 'src/index.ts');
const env = StreamExecutionEnvironment.getExecutionEnvironment({
  'parallelism.default': 1,
  ...(checkpointMs ? { 'execution.checkpointing.interval': checkpointMs, 'execution.checkpointing.mode': 'exactly-once' } : {}),
});
wordCountPipeline(env, FileSink, input, output);
const t0 = performance.now();
const c0 = process.cpuUsage();
const result = await env.execute('throughput');
const cpu = process.cpuUsage(c0);
console.log(
  JSON.stringify({ ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, checkpoints: result.checkpoints.completed }),
);
