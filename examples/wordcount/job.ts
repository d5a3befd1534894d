// Word count: the job file of the README. Run it with `npx floe run examples/wordcount/job.ts --checkpoint-interval 200ms`.
import { fileURLToPath } from 'node:url';
import { FileSink, type StreamExecutionEnvironment } from 'floe';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default function job(env: StreamExecutionEnvironment) {
  env
    .readTextFile(here('input.txt'))
    .uid('source')
    .flatMap((line: string) => line.split(' ').filter(Boolean))
    .uid('split')
    .map((w: string) => [w, 1] as [string, number])
    .uid('tag')
    .keyBy((t) => t[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(new FileSink(here('out/')))
    .uid('sink');
}
