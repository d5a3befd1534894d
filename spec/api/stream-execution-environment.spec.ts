// One environment, several jobs: each execute runs the pipeline built for it, once (as Flink clears its transformations).
import t from 'tap';
import { CollectSink, StreamExecutionEnvironment } from '../../src/index.ts';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i + 1));

t.test('execute, then executeAsync of the next pipeline: 1000 results each, nothing run twice', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'execution.checkpointing.interval': '1s' });
  const first: number[] = [];
  env
    .fromSequence(1, 1000)
    .map((n) => n * 2)
    .sinkTo(new CollectSink(first));
  t.equal((await env.execute('first')).status, 'FINISHED');
  t.same(
    sorted(first),
    range(1000, (n) => n * 2),
  );

  t.throws(() => env.getJobGraph(), { code: 'FLOE_JOB_NO_SINK' }, 'the pipeline went with the job');
  const second: number[] = [];
  env
    .fromSequence(1, 1000)
    .map((n) => n + 1)
    .sinkTo(new CollectSink(second));
  const client = await env.executeAsync('second');
  t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
  t.equal(first.length, 1000, 'the first job did not run again');
  t.same(
    sorted(second),
    range(1000, (n) => n + 1),
  );
});

t.test('a stream kept from a pipeline that ran brings its upstream into the next job', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment();
  const doubled = env.fromSequence(1, 100).map((n) => n * 2);
  const first: number[] = [];
  doubled.sinkTo(new CollectSink(first));
  await env.execute();
  const second: number[] = [];
  doubled.filter((n) => n > 190).sinkTo(new CollectSink(second));
  await env.execute();
  t.same(
    sorted(first),
    range(100, (n) => n * 2),
  );
  t.same(sorted(second), [192, 194, 196, 198, 200], 'source and map run again for the new sink');
});

t.test('a job that could not be submitted leaves its pipeline for the next try', async (t) => {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'state.backend.type': 'fs' });
  const results: number[] = [];
  env.fromSequence(1, 10).sinkTo(new CollectSink(results));
  await t.rejects(env.execute(), { code: 'FLOE_CHECKPOINT_DIR_MISSING' });
  env.setStateBackend('memory');
  t.equal((await env.execute()).status, 'FINISHED');
  t.same(
    sorted(results),
    range(10, (n) => n),
  );
});
