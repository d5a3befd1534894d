// The benches' word count (source → split → tag → keyBy → count → FileSink), built on the API of whichever floe the bench loaded.
import type { FileSink as FileSinkClass, StreamExecutionEnvironment } from '../src/index.ts';

export function wordCountPipeline(env: StreamExecutionEnvironment, FileSink: typeof FileSinkClass, input: string, output: string): void {
  env
    .readTextFile(input)
    .uid('source')
    .flatMap((line: string) => line.split(' ').filter(Boolean))
    .uid('split')
    .map((w: string) => [w, 1] as [string, number])
    .uid('tag')
    .keyBy((t) => t[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(new FileSink(output))
    .uid('sink');
}
