// Without checkpointing, savepoints after a source subtask finished (FLIP-147): a p=1 text-file savepoint restored at p=3 (two subtasks get no split and finish at once), a savepoint or stop then holds their final state, and its restore counts every word exactly once.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { phaseOf } from '../../src/actors/task-machine.ts';
import { TextFileSource } from '../../src/connectors/text-file-source.ts';
import { FileSink, Savepoint, StreamExecutionEnvironment, type JobClient } from '../../src/index.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { heldSource } from '../fixtures/held-source.ts';
import { expectedLines, visibleLines } from '../fixtures/wordcount-job.ts';
import { until } from '../helpers/floe-process.ts';

const TEXT = generateText(12_000, { seed: 14, vocabulary: 600 });
const EXPECTED = expectedLines(TEXT);
const LINES = TEXT.split('\n').filter(Boolean).length;

/** Lines each source reader may emit (see held-source.ts): the job cannot end before the spec has taken its savepoint. */
let limit = Infinity;
/** Lines the sources emitted, in this process, since the spec last reset it. */
let seen = 0;

/** A word count of `input` without periodic checkpointing (no interval set), its sources held at `limit`. */
function wordCount(input: string, out: string, parallelism: number, savepoint?: string) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': parallelism,
    'restart-strategy.type': 'none',
    'taskmanager.network.batch-size': 64,
    ...(savepoint ? { 'execution.savepoint.path': savepoint } : {}),
  });
  env
    .fromSource(
      heldSource(new TextFileSource(input), () => limit),
      'Text File Source',
    )
    .uid('source')
    .map((line: string) => {
      seen++;
      return line;
    })
    .uid('seen')
    .flatMap((line: string) => line.split(' ').filter(Boolean))
    .uid('split')
    .map((w: string) => [w, 1] as [string, number])
    .uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(new FileSink(out))
    .uid('sink');
  return env.executeAsync('wc');
}

/** The phases of the source subtasks, from the job's task views. */
function sourcePhases(client: JobClient): string[] {
  const views = client.master.execution?.subtaskViews() ?? [];
  return views.filter((v) => v.name.includes('Text File Source')).map((v) => phaseOf(v.value));
}

for (const end of ['savepoint', 'stop'] as const) {
  t.test(
    `no checkpointing, p=1 savepoint restored at p=3, two source subtasks finished: ${end === 'stop' ? 'stop-with-savepoint' : 'a savepoint'} succeeds and its restore counts every word exactly once`,
    async (t) => {
      const dir = t.testdir({ 'in.txt': TEXT, sp: {} });
      const input = join(dir, 'in.txt');
      const out = join(dir, 'out');
      t.teardown(() => void (limit = Infinity));

      // a p=1 savepoint in the middle of the input: its one split holds the read position
      limit = Math.floor(LINES / 3);
      seen = 0;
      const first = await wordCount(input, out, 1);
      await until(() => seen >= limit, 'the p=1 source to read a third of the input');
      const p1 = await first.stopWithSavepoint(join(dir, 'sp'));
      t.equal((await first.getJobExecutionResult()).status, 'FINISHED');

      // restored at p=3: the split goes to one subtask, the two others get none and finish at once
      limit = Math.floor(LINES / 3);
      seen = 0;
      const second = await wordCount(input, out, 3, p1);
      await until(
        () => seen >= limit && sourcePhases(second).filter((p) => p === 'finished').length === 2,
        `a third more read and two source subtasks finished (${sourcePhases(second)})`,
      );
      t.same(sourcePhases(second).sort(), ['finished', 'finished', 'running'], 'one source subtask runs on, two finished');
      let p3: string;
      if (end === 'stop') {
        p3 = await second.stopWithSavepoint(join(dir, 'sp'));
        t.equal((await second.getJobExecutionResult()).status, 'FINISHED');
      } else {
        p3 = await second.triggerSavepoint(join(dir, 'sp'));
        t.equal(second.getJobStatus(), 'RUNNING', 'the job runs on after the savepoint');
        // nothing is committed after the savepoint: without checkpoints, only a savepoint or the end of input commits
        t.equal((await second.cancel()).status, 'CANCELED');
      }
      const sp = await Savepoint.load(p3);
      t.equal(sp.metadata.operators.source!.parallelism, 3, 'the savepoint holds every source subtask, the finished ones too');
      const partial = visibleLines(out).length;
      t.ok(partial > 0 && partial < EXPECTED.length, `stopped in the middle (${partial} of ${EXPECTED.length} lines committed)`);

      // the restore of that savepoint reads the rest: nothing lost, nothing twice
      limit = Infinity;
      const third = await wordCount(input, out, 2, p3);
      t.equal((await third.getJobExecutionResult()).status, 'FINISHED');
      const lines = visibleLines(out).sort();
      t.equal(lines.length, EXPECTED.length, 'as many lines as words');
      t.same(lines, EXPECTED, 'every ["w",i] exactly once across the three runs');
      t.same(
        readdirSync(out).filter((f) => /^\..*\.(inprogress|pending-\d+)$/.test(f)),
        [],
        'no pending or in-progress files left',
      );
      t.ok(existsSync(join(p3, '_metadata')));
    },
  );
}
