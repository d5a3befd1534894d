import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { FileSink, StreamExecutionEnvironment, type JobClient } from '/work/wt-time/src/index.ts';
import { generateText } from '/work/wt-time/spec/fixtures/generate-text.ts';
const TEXT = generateText(200_000, { seed: 11, vocabulary: 3000 });
const dir = mkdtempSync(join(tmpdir(), 'wcd-'));
writeFileSync(join(dir, 'in.txt'), TEXT);
const env = StreamExecutionEnvironment.getExecutionEnvironment({
  'parallelism.default': 1, 'execution.checkpointing.interval': '60ms',
  'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 5, 'restart-strategy.fixed-delay.delay': '20ms',
});
let completed = 0; let thrown = 0;
let client: JobClient | undefined;
env.readTextFile(join(dir, 'in.txt')).uid('source')
  .map((line: string, ctx) => { const until = performance.now() + 0.04; while (performance.now() < until);
    if (thrown === 0 && ctx.attemptNumber === 0 && completed >= 3) { thrown++; throw new Error('boom'); } return line; }).uid('slow')
  .flatMap((line: string) => line.split(' ').filter(Boolean)).uid('split')
  .map((w: string) => [w, 1] as [string, number]).uid('tag')
  .keyBy((x) => x[0]).reduce((a, b) => [a[0], a[1] + b[1]]).uid('count')
  .sinkTo(new FileSink(join(dir, 'out'))).uid('sink');
const t0 = Date.now();
client = await env.executeAsync('wc');
client.on('restarting', () => { completed = 0; console.log('restarting', Date.now() - t0); });
client.on('checkpoint-completed', (c) => { completed++; });
const iv = setInterval(() => console.log(Date.now() - t0, client!.getJobStatus(), completed, JSON.stringify(client!.master.execution?.tasks?.map((x: any) => [x.name, x.phase]) ?? null)), 2000);
const r = await client.getJobExecutionResult();
clearInterval(iv);
console.log('done', r.status, Date.now() - t0);
