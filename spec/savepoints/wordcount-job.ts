// The word count used by the savepoint specs: a slow first stage so a run spans several checkpoints.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink, StreamExecutionEnvironment } from '../../src/index.ts';
import { countWords } from '../fixtures/generate-text.ts';

export interface WordCountOptions {
  input: string;
  out: string;
  parallelism: number;
  config?: Record<string, unknown>;
  /** busy-wait per line, ms */
  slowMs?: number;
  /** uid of the counting operator */
  countUid?: string;
}

export function wordCountEnv(options: WordCountOptions): StreamExecutionEnvironment {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': options.parallelism,
    'execution.checkpointing.interval': '40ms',
    'restart-strategy.type': 'none',
    // little data in flight, so a barrier behind the slow stage's output is not delayed for long
    'taskmanager.network.batch-size': 64,
    'taskmanager.network.memory.buffers-per-channel': 2,
    ...options.config,
  });
  const slow = options.slowMs ?? 0.02;
  env
    .readTextFile(options.input).uid('source')
    .map((line: string) => {
      const until = performance.now() + slow;
      while (performance.now() < until);
      return line;
    }).uid('slow')
    .flatMap((line: string) => line.split(' ').filter(Boolean)).uid('split')
    .map((w: string) => [w, 1] as [string, number]).uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]]).uid(options.countUid ?? 'count')
    .sinkTo(new FileSink(options.out)).uid('sink');
  return env;
}

/** Every committed line of the sink directory (hidden in-progress/pending files excluded). */
export function visibleLines(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out).filter((f) => !f.startsWith('.')).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
}

/** The failure-free output: every running count ["w", i] once, sorted. */
export function expectedLines(text: string): string[] {
  const lines: string[] = [];
  for (const [w, c] of countWords(text)) for (let i = 1; i <= c; i++) lines.push(JSON.stringify([w, i]));
  return lines.sort();
}

/**
 * The lines a text-file source had read when its state was taken: a line belongs to the split its
 * first byte lies in; an unfinished split (in `splits`) has read the lines before its offset, a
 * finished one (gone from the state) all of them.
 */
export function linesRead(text: string, splits: Array<{ start: number; end: number; offset: number }>, parallelism: number): string {
  const bytes = Buffer.from(text);
  const size = bytes.length;
  const read: string[] = [];
  for (let pos = 0; pos < size;) {
    const nl = bytes.indexOf(10, pos);
    const end = nl === -1 ? size : nl + 1;
    let i = 0;
    while (pos >= Math.floor(((i + 1) * size) / parallelism)) i++;
    const split = splits.find((s) => s.start === Math.floor((i * size) / parallelism));
    if (!split || pos < split.offset) read.push(bytes.subarray(pos, end).toString());
    pos = end;
  }
  return read.join('');
}
