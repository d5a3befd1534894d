// `npm start`: word count with checkpoints every 200 ms and one injected task failure, then the exact counts.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FileSink, StreamExecutionEnvironment } from 'floe';
import { attachReporter, formatJobEnd } from '../../src/cli/reporter.ts';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const input = here('input.txt');
const outDir = here('out/');
rmSync(outDir, { recursive: true, force: true });

const env = StreamExecutionEnvironment.getExecutionEnvironment({
  'parallelism.default': 2,
  'execution.checkpointing.interval': '100ms',
  'execution.checkpointing.mode': 'exactly-once',
  'restart-strategy.type': 'fixed-delay',
  'restart-strategy.fixed-delay.attempts': 3,
  'restart-strategy.fixed-delay.delay': '100ms',
});

const FAIL_AT_LINE = 3000;
let linesSeen = 0;

env
  .readTextFile(input)
  .uid('source')
  .map((line: string, ctx) => {
    // per-line work so the run spans several checkpoints (the file is small)
    const until = performance.now() + 0.2;
    while (performance.now() < until);
    if (ctx.attemptNumber === 0 && ++linesSeen === FAIL_AT_LINE) {
      throw new Error(`injected failure at line ${FAIL_AT_LINE} (attempt 0 only)`);
    }
    return line;
  })
  .uid('slow-lines')
  .flatMap((line: string) => line.split(' ').filter(Boolean))
  .uid('split')
  .map((w: string) => [w, 1] as [string, number])
  .uid('tag')
  .keyBy((t) => t[0])
  .reduce((a, b) => [a[0], a[1] + b[1]])
  .uid('count')
  .sinkTo(new FileSink(outDir))
  .uid('sink');

const write = (line: string) => console.log(line);
const client = await env.executeAsync('wordcount example');
attachReporter(client, { write });
client.on('task-failed', ({ task, error }) => write(`  (${task}: ${error instanceof Error ? error.message : error})`));
const result = await client.getJobExecutionResult();
write(formatJobEnd(result));

// The visible output holds every running count exactly once: the last one per word is its total.
const finals = new Map<string, number>();
let lines = 0;
for (const file of readdirSync(outDir).filter((f) => !f.startsWith('.'))) {
  for (const line of readFileSync(`${outDir}/${file}`, 'utf8').split('\n')) {
    if (!line) continue;
    lines++;
    const [word, n] = JSON.parse(line) as [string, number];
    finals.set(word, Math.max(finals.get(word) ?? 0, n));
  }
}
const expected = new Map<string, number>();
for (const w of readFileSync(input, 'utf8').split(/\s+/)) if (w) expected.set(w, (expected.get(w) ?? 0) + 1);
const totalWords = [...expected.values()].reduce((a, b) => a + b, 0);
const exact = lines === totalWords && [...expected].every(([w, c]) => finals.get(w) === c);
const top = [...finals].sort((a, b) => b[1] - a[1]).slice(0, 10);
write(`top words: ${top.map(([w, c]) => `${w}=${c}`).join(' ')}`);
write(`${finals.size} distinct words, ${lines} output lines for ${totalWords} input words: ${exact ? 'exactly once' : 'MISMATCH'}`);
process.exitCode = exact && result.status === 'FINISHED' ? 0 : 1;
