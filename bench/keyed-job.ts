// The keyed word count (split, tag, keyBy, reduce, keep 1 in 100), run by floe or by a plain loop of the same functions: one child process of `npm run bench -- throughput`, timed from its own start.
//
// node --import=tsx bench/keyed-job.ts <floe|loop> <input> <output> [--floe <checkout>] [--checkpoint-ms N]
// prints one JSON line: { ms, cpuMs, records, checkpoints }. `--floe` names the checkout whose
// src/index.ts runs the job (the baseline of a before/after run); the default is this one.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The job's own functions: what both sides call. */
export const split = (line: string): string[] => line.split(' ').filter(Boolean);
export const tag = (w: string): [string, number] => [w, 1];
export const sum = (a: [string, number], b: [string, number]): [string, number] => [a[0], a[1] + b[1]];
/** keeps the running counts that reach a multiple of 100: about 1% of the input */
export const keep = (t: [string, number]): boolean => t[1] % 100 === 0;

/** The same job without floe: lines, split, tag, a Map of running results, keep, each kept result a JSON line. */
function loop(input: string, output: string): number {
  const fd = openSync(output, 'w');
  const state = new Map<string, [string, number]>();
  let buffer = '';
  let records = 0;
  for (const line of readFileSync(input, 'utf8').split('\n')) {
    for (const w of split(line)) {
      const t = tag(w);
      const current = state.get(t[0]);
      const next = current === undefined ? t : sum(current, t);
      state.set(t[0], next);
      if (!keep(next)) continue;
      buffer += JSON.stringify(next) + '\n';
      records++;
      if (buffer.length > 65536) {
        writeSync(fd, buffer);
        buffer = '';
      }
    }
  }
  writeSync(fd, buffer);
  closeSync(fd);
  return records;
}

async function floe(root: string, input: string, output: string, checkpointMs: number): Promise<number> {
  const { FileSink, StreamExecutionEnvironment } = (await import(
    pathToFileURL(join(root, 'src/index.ts')).href
  )) as typeof import('../src/index.ts');
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 1,
    ...(checkpointMs ? { 'execution.checkpointing.interval': checkpointMs, 'execution.checkpointing.mode': 'exactly-once' } : {}),
  });
  env
    .readTextFile(input)
    .uid('source')
    .flatMap(split)
    .uid('split')
    .map(tag)
    .uid('tag')
    .keyBy((t) => t[0])
    .reduce(sum)
    .uid('count')
    .filter(keep)
    .uid('keep')
    .sinkTo(new FileSink(output))
    .uid('sink');
  const result = await env.execute('keyed-word-count');
  return result.checkpoints.completed;
}

const [mode, input, output, ...rest] = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
if ((mode !== 'floe' && mode !== 'loop') || !input || !output) {
  console.error('usage: node --import=tsx bench/keyed-job.ts <floe|loop> <input> <output> [--floe <checkout>] [--checkpoint-ms N]');
  process.exit(2);
}
const checkpoints =
  mode === 'floe'
    ? await floe(resolve(option('--floe') ?? join(import.meta.dirname, '..')), input, output, Number(option('--checkpoint-ms') ?? 0))
    : (loop(input, output), 0);
// performance.now() counts from the process's start: module loading and the job's start-up are included
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ms: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, checkpoints }));
