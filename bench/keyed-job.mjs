// The keyed word count (split, tag, keyBy, reduce, keep 1 in 100), run by floe or by a plain loop of the same functions: one child process of `npm run bench -- throughput`, timed from its own start.
//
// node bench/keyed-job.mjs <floe|loop> <input> <output> [--floe <entry>] [--checkpoint-ms N]
// prints one JSON line: { ms, cpuMs, checkpoints }. `--floe` names the module the job imports floe from: a checkout's
// dist/index.js (what an installed floe runs; the default is this checkout's). Plain JavaScript, so that both sides
// run in plain `node` with no TypeScript loader: the process's start-up is what a user's would be.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The job's own functions: what both sides call. */
export const split = (line) => line.split(' ').filter(Boolean);
export const tag = (w) => [w, 1];
export const sum = (a, b) => [a[0], a[1] + b[1]];
/** keeps the running counts that reach a multiple of 100: about 1% of the input */
export const keep = (t) => t[1] % 100 === 0;

/** The same job without floe: lines, split, tag, a Map of running results, keep, each kept result a JSON line. */
function loop(input, output) {
  const fd = openSync(output, 'w');
  const state = new Map();
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

async function floe(entry, input, output, checkpointMs) {
  const { FileSink, StreamExecutionEnvironment } = await import(pathToFileURL(entry).href);
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
const option = (name) => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
if ((mode !== 'floe' && mode !== 'loop') || !input || !output) {
  console.error('usage: node bench/keyed-job.mjs <floe|loop> <input> <output> [--floe <entry>] [--checkpoint-ms N]');
  process.exit(2);
}
const checkpoints =
  mode === 'floe'
    ? await floe(
        resolve(option('--floe') ?? join(import.meta.dirname, '..', 'dist', 'index.js')),
        input,
        output,
        Number(option('--checkpoint-ms') ?? 0),
      )
    : (loop(input, output), 0);
// performance.now() counts from the process's start: module loading and the job's start-up are included
const cpu = process.cpuUsage();
console.log(JSON.stringify({ ms: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000, checkpoints }));
