// End of input with only the final checkpoint (interval 1 h), exactly-once into a FileSink: what process functions emit in endInput, at a source's task or further down, is in the final checkpoint; nothing waits for another checkpoint.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileSink, StreamExecutionEnvironment, type JobResult, type Output } from '../../src/index.ts';

const LINES = Array.from({ length: 2000 }, (_, i) => `w${i % 50}`);

function visible(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));
}

/** Counts its records; endInput emits the count (one line per subtask). */
function counting(label: string) {
  let seen = 0;
  return {
    processElement(word: string, _ctx: unknown, out: Output<string>) {
      seen++;
      out.collect(word);
    },
    endInput(out: Output<string>) {
      out.collect(`${label}-end`);
      out.collect(`${label}-seen:${seen}`);
      seen = 0;
    },
  };
}

for (const where of ['at the source', 'after a keyBy', 'at the source and after a keyBy and a rebalance'] as const) {
  t.test(`endInput emitting ${where}: the job finishes with its output committed by the final checkpoint`, async (t) => {
    const dir = t.testdir({ 'in.txt': LINES.join('\n') + '\n' });
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'execution.checkpointing.interval': '1h',
      'execution.checkpointing.mode': 'EXACTLY_ONCE',
      'state.backend.type': 'fs',
      'state.checkpoints.dir': join(dir, 'checkpoints'),
    });
    let stream = env.readTextFile(join(dir, 'in.txt')).uid('source');
    if (where !== 'after a keyBy') stream = stream.process<string>(counting('source')).uid('at-source');
    if (where !== 'at the source')
      stream = stream
        .keyBy((w) => w)
        .process<string>(counting('keyed'))
        .uid('keyed');
    if (where === 'at the source and after a keyBy and a rebalance')
      stream = stream.rebalance().process<string>(counting('rebalanced')).setParallelism(2).uid('rebalanced');
    stream
      .map((w) => w.toUpperCase())
      .uid('upper')
      .sinkTo(new FileSink(join(dir, 'out')))
      .uid('sink');
    const client = await env.executeAsync('end-input');
    // a hang waits for the next checkpoint, an hour away: fail clearly instead of at tap's timeout
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      client.getJobExecutionResult(),
      new Promise<JobResult | null>((resolve) => (timer = setTimeout(() => resolve(null), 60_000))),
    ]);
    clearTimeout(timer);
    if (result === null) {
      await client.cancel();
      t.fail('the job did not finish within 60 s: a task waits for a checkpoint after its final one');
      return;
    }
    t.equal(result.status, 'FINISHED');
    t.equal(result.checkpoints.completed, 1, 'one checkpoint: the final one');
    const lines = visible(join(dir, 'out'));
    const words = lines.filter((l) => /^W\d+$/.test(l)).sort();
    t.same(words, LINES.map((w) => w.toUpperCase()).sort(), 'every record once');
    const ends = lines.filter((l) => !/^W\d+$/.test(l)).sort();
    const expected: string[] = [];
    if (where !== 'after a keyBy') expected.push('SOURCE-END', `SOURCE-SEEN:${LINES.length}`);
    if (where !== 'at the source') {
      // what the source's process function emitted in endInput went through the keyed one too
      const keyedIn = LINES.length + (where === 'after a keyBy' ? 0 : 2);
      expected.push('KEYED-END', `KEYED-SEEN:${keyedIn}`);
    }
    if (where === 'at the source and after a keyBy and a rebalance') {
      // two subtasks, each emits its end; their counts add up to everything the keyed function emitted
      const seen = ends.filter((l) => l.startsWith('REBALANCED-SEEN:')).map((l) => Number(l.split(':')[1]));
      t.equal(seen.length, 2);
      t.equal(
        seen.reduce((a, b) => a + b, 0),
        LINES.length + 4,
        'the rebalanced function saw every record and both ends before it',
      );
      expected.push('REBALANCED-END', 'REBALANCED-END', ...ends.filter((l) => l.startsWith('REBALANCED-SEEN:')));
    }
    t.same(ends, expected.sort(), "every endInput's output, once");
  });
}

t.test(
  'a failure after the final checkpoint completed: the restart restores it; what endInput emitted is in the output once',
  async (t) => {
    const dir = t.testdir({ 'in.txt': LINES.join('\n') + '\n' });
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'execution.checkpointing.interval': '1h',
      'state.backend.type': 'fs',
      'state.checkpoints.dir': join(dir, 'checkpoints'),
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 2,
      'restart-strategy.fixed-delay.delay': '10ms',
    });
    env
      .readTextFile(join(dir, 'in.txt'))
      .uid('source')
      .process<string>(counting('source'))
      .uid('at-source')
      .keyBy((w) => w)
      .transform('CloseFailsOnce', () => {
        let attempt = 0;
        let out!: Output<string>;
        return {
          open(context, output) {
            attempt = context.attemptNumber;
            out = output;
          },
          processElement: (w: string) => out.collect(w),
          close() {
            // the final checkpoint completed and the sinks committed: this fails the job after them
            if (attempt === 0) throw new Error('injected failure at close');
          },
        };
      })
      .uid('close-fails')
      .sinkTo(new FileSink(join(dir, 'out')))
      .uid('sink');
    const result = await env.execute('end-input-restore');
    t.equal(result.status, 'FINISHED');
    t.equal(result.restarts, 1, 'the failure at close restarted the job from its final checkpoint');
    const lines = visible(join(dir, 'out'));
    t.same(lines.filter((l) => /^w\d+$/.test(l)).length, LINES.length, 'every record once');
    t.same(lines.filter((l) => !/^w\d+$/.test(l)).sort(), ['source-end', `source-seen:${LINES.length}`], "endInput's output once");
  },
);
