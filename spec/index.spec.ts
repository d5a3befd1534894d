// What importing floe loads: the runtime every job runs, not the code of features a job may not use (start-up time).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const probe = fileURLToPath(new URL('fixtures/loaded-modules.mjs', import.meta.url));

/** floe's src/ modules resolved by a fresh process that runs `script` (floe imported from source). */
function loadedBy(script: string): string[] {
  const args = ['--conditions=floe-source', '--import=tsx', `--import=${probe}`, '--input-type=module', '-e', script];
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`the probe exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as string[];
}

/** loaded when a job uses what they do: another state backend, file checkpoints, savepoints, a restore, an inspector */
const ON_DEMAND = [
  'src/backends/level-backend.ts',
  'src/backends/level-keyed-backend.ts',
  'src/backends/state-backend-registry.ts',
  'src/storage/file-checkpoint-storage.ts',
  'src/storage/checkpoint-recovery.ts',
  'src/savepoints/restore-point.ts',
  'src/savepoints/savepoint-operations.ts',
  'src/savepoints/savepoint-writer.ts',
  'src/savepoints/savepoint-loader.ts',
  'src/api/inspection.ts',
];

t.test('a checkpointed job on the memory backend runs without loading the code of features it does not use', async (t) => {
  const job = `import { CollectSink, StreamExecutionEnvironment } from 'floe';
const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'execution.checkpointing.interval': 60000 });
env.fromCollection([1, 2, 3]).keyBy((x) => x % 2).reduce((a, b) => a + b).sinkTo(new CollectSink([]));
const result = await env.execute('sums');
if (result.checkpoints.completed !== 1) throw new Error('no checkpoint: ' + JSON.stringify(result));`;
  const loaded = loadedBy(job);
  t.ok(
    loaded.includes('src/coordinator/job-master.ts') && loaded.includes('src/storage/memory-checkpoint-storage.ts'),
    'the probe sees the runtime',
  );
  t.same(
    ON_DEMAND.filter((m) => loaded.includes(m)),
    [],
    'none of them loaded',
  );
});

t.test('each is loaded by a job that uses it: the level backend and file checkpoints, from the job configuration', async (t) => {
  const dir = t.testdir();
  const job = `import { CollectSink, StreamExecutionEnvironment } from 'floe';
const env = StreamExecutionEnvironment.getExecutionEnvironment({
  'execution.checkpointing.interval': 60000,
  'state.backend.type': 'level',
  'state.checkpoints.dir': ${JSON.stringify(dir)},
  'state.backend.level.localdir': ${JSON.stringify(dir)} + '/local',
});
env.fromCollection([1, 2, 3]).keyBy((x) => x % 2).reduce((a, b) => a + b).sinkTo(new CollectSink([]));
await env.execute('sums');`;
  const loaded = loadedBy(job);
  for (const m of ['src/backends/level-keyed-backend.ts', 'src/storage/file-checkpoint-storage.ts']) t.ok(loaded.includes(m), m);
});
