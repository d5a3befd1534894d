// Savepoints of incremental backends: the checkpoint chain (a full snapshot and deltas, puts and deletes) linked or copied, restored exactly elsewhere, checked like any state file.
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CollectSink, Savepoint, StreamExecutionEnvironment, valueState, type JobClient } from '../../src/index.ts';
import type { ListState } from '../../src/backends/types.ts';
import type { OperatorContext, Output, PollResult, Source, SourceReader } from '../../src/operators/operator.ts';
import { readMetadataFile } from '../../src/savepoints/savepoint-metadata.ts';

/** Records of two phases; the second is emitted only once `gate.open` (after a checkpoint completed on the first). */
type Op = { key: number; op: 'set' | 'add' | 'clear'; value: number };
const PHASE_1: Op[] = Array.from({ length: 1000 }, (_, i) => ({ key: i, op: 'set', value: i }));
const PHASE_2: Op[] = [
  ...Array.from({ length: 100 }, (_, i): Op => ({ key: i, op: 'add', value: 1000 })),
  ...Array.from({ length: 100 }, (_, i): Op => ({ key: 100 + i, op: 'clear', value: 0 })),
  ...Array.from({ length: 100 }, (_, i): Op => ({ key: 1000 + i, op: 'set', value: 1000 + i })),
];
/** the state after both phases: keys 0-99 added to, 100-199 cleared, 200-1099 as set */
const EXPECTED = new Map<string, number>();
for (let i = 0; i < 1100; i++) if (i < 100 || i >= 200) EXPECTED.set(`k${i}`, i < 100 ? i + 1000 : i);

class PhasedSource implements Source<Op> {
  readonly name = 'ops';
  constructor(readonly gate: { open: boolean }) {}
  createReader(): SourceReader<Op> {
    const gate = this.gate;
    let state: ListState<number>;
    let next = 0;
    let all: Op[] = [];
    let firstPhase = 0;
    return {
      open(context: OperatorContext) {
        state = context.operatorState.getListState('next');
        next = state.get()[0] ?? 0;
        // each subtask its share, by index
        const mine = (_: Op, i: number) => i % context.parallelism === context.subtaskIndex;
        firstPhase = PHASE_1.filter(mine).length;
        all = [...PHASE_1.filter(mine), ...PHASE_2.filter(mine)];
      },
      poll(output: Output<Op>, max: number): PollResult {
        const limit = gate.open ? all.length : firstPhase;
        const stop = Math.min(limit, next + max);
        for (; next < stop; next++) output.collect(all[next]!);
        if (next === all.length) return 'end';
        return next === limit ? 'idle' : 'more';
      },
      snapshotState() {
        state.update([next]);
      },
    };
  }
}

function job(config: Record<string, unknown>, gate: { open: boolean }, parallelism: number): StreamExecutionEnvironment {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': parallelism,
    'execution.checkpointing.interval': '1h',
    'restart-strategy.type': 'none',
    ...config,
  });
  env
    .fromSource(new PhasedSource(gate), 'ops')
    .uid('ops')
    .keyBy((o: Op) => `k${o.key}`)
    .process((o: Op, ctx) => {
      processed++;
      const v = ctx.getState(valueState<number>('v'));
      if (o.op === 'clear') v.clear();
      else v.update(o.op === 'add' ? v.value()! + o.value : o.value);
    })
    .uid('state')
    .sinkTo(new CollectSink<never>([]))
    .uid('sink');
  return env;
}

/** records the keyed operator has processed (the job runs in this process) */
let processed = 0;

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 5));
}

async function entries(path: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const e of (await Savepoint.load(path)).keyedEntries('state', 'v')) out.set(e.key as string, e.value as number);
  return out;
}

/** Runs both phases with a completed checkpoint between them, then takes a savepoint: a chain of a full snapshot and a delta. */
async function chainedSavepoint(backend: string, dir: string): Promise<string> {
  const gate = { open: false };
  processed = 0;
  const client: JobClient = await job(
    {
      'state.backend.type': backend,
      'execution.checkpointing.incremental': true,
      'state.checkpoints.dir': join(dir, 'checkpoints'),
    },
    gate,
    2,
  ).executeAsync('chain');
  client.master.holdCheckpoints(true);
  // the first phase fully processed: a checkpoint then holds it as the chain's full base
  await until(() => processed === PHASE_1.length);
  await client.master.triggerCheckpoint();
  gate.open = true;
  await until(() => processed === PHASE_1.length + PHASE_2.length);
  const path = await client.stopWithSavepoint(join(dir, 'sp'));
  await client.getJobExecutionResult();
  return path;
}

for (const backend of ['fs', 'level']) {
  t.test(`${backend}, incremental: the savepoint takes the chain's files; read, restored on memory at p=3, exact`, async (t) => {
    const dir = t.testdir({});
    const path = await chainedSavepoint(backend, dir);
    const metadata = readMetadataFile(path);
    t.equal(metadata.version, 3, 'a savepoint with deltas is format version 3 (older floe refuses it instead of dropping the deltas)');
    const subtasks = metadata.operators.state!.subtasks;
    t.ok(
      subtasks.every((s) => s.keyed && s.keyed.deltas?.length === 1),
      'each subtask: a full file and one delta',
    );
    t.same(readdirSync(path).sort(), [
      '_metadata',
      'keyed-1-0.delta-1.msgpack',
      'keyed-1-0.msgpack',
      'keyed-1-1.delta-1.msgpack',
      'keyed-1-1.msgpack',
    ]);
    // the chain's files were linked or copied: the checkpoints going takes nothing from the savepoint
    rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
    t.same(
      await entries(path),
      EXPECTED,
      'read back with the checkpoints deleted: the deltas applied on the full snapshot, puts and deletes',
    );
    const [op] = (await (await Savepoint.load(path)).operators()).filter((o) => o.uid === 'state');
    t.equal(op!.states[0]!.keys, EXPECTED.size, 'inspect counts the keys after the deltas');
    t.equal(
      op!.bytes,
      subtasks.reduce((n, s) => n + s.keyed!.size + s.keyed!.deltas!.reduce((m, d) => m + d.size, 0), 0),
      "and every file's bytes",
    );

    // restore on another backend at another parallelism, then a savepoint of that: the same state
    const gate = { open: true };
    const restored = await job({ 'state.backend.type': 'memory', 'execution.savepoint.path': path }, gate, 3).executeAsync('restored');
    restored.master.holdCheckpoints(true);
    await new Promise<void>((resolve) => restored.on('running', () => resolve()));
    const again = await restored.stopWithSavepoint(join(dir, 'sp-2'));
    await restored.getJobExecutionResult();
    t.equal(readMetadataFile(again).version, 2, 'a savepoint without deltas stays version 2');
    t.same(await entries(again), EXPECTED, 'restored on memory at p=3 from the chain: the same state');

    const renamed = await (await Savepoint.load(path)).renameUid('state', 'state-2', join(dir, 'renamed'));
    t.equal(renamed.metadata.version, 3);
    t.equal((await renamed.operators()).find((o) => o.uid === 'state-2')!.states[0]!.keys, EXPECTED.size, 'rename-uid keeps the deltas');
  });
}

t.test('a damaged or missing delta of a chained savepoint: its own error, nothing starts', async (t) => {
  const dir = t.testdir({});
  const path = await chainedSavepoint('fs', dir);
  const delta = join(path, 'keyed-1-1.delta-1.msgpack');
  const bytes = readFileSync(delta);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length >> 1] ^= 0xff;
  writeFileSync(delta, flipped);
  await t.rejects(Savepoint.load(path), { code: 'FLOE_SAVEPOINT_CHECKSUM_MISMATCH', message: /keyed-1-1\.delta-1\.msgpack/ });
  const started: unknown[] = [];
  const restore = job({ 'state.backend.type': 'memory', 'execution.savepoint.path': path }, { open: true }, 2);
  await t.rejects(
    restore.executeAsync('restore').then((c) => (c.on('running', () => started.push(1)), c)),
    { code: 'FLOE_SAVEPOINT_CHECKSUM_MISMATCH' },
  );
  t.same(started, []);
  rmSync(delta);
  await t.rejects(Savepoint.load(path), { code: 'FLOE_SAVEPOINT_FILE_MISSING', message: /keyed-1-1\.delta-1\.msgpack/ });
});

t.test('a chain file that changed size since its checkpoint fails the savepoint, leaves nothing, and the job runs on', async (t) => {
  const dir = t.testdir({});
  const gate = { open: false };
  processed = 0;
  const checkpoints = join(dir, 'checkpoints');
  // every part a file (none inlined into _metadata): the base is one to damage
  const config = {
    'state.backend.type': 'fs',
    'execution.checkpointing.incremental': true,
    'state.checkpoints.dir': checkpoints,
    'state.storage.fs.memory-threshold': 0,
  };
  const client = await job(config, gate, 2).executeAsync('chain');
  t.teardown(() => client.cancel().catch(() => {}));
  client.master.holdCheckpoints(true);
  await until(() => processed === PHASE_1.length);
  await client.master.triggerCheckpoint();
  const shared = join(checkpoints, client.jobId, 'shared');
  const [base] = readdirSync(shared);
  truncateSync(join(shared, base!), 10);
  const error = await client.triggerSavepoint(join(dir, 'sp')).then(
    () => null,
    (e: { code?: string; cause?: { code?: string } }) => e,
  );
  t.equal(error?.code, 'FLOE_SAVEPOINT_WRITE_FAILED');
  t.equal(error?.cause?.code, 'FLOE_CHECKPOINT_FILE_CORRUPT', 'the cause: the file is not the size its checkpoint recorded');
  t.same(readdirSync(join(dir, 'sp')), [], 'no savepoint directory left behind');
  t.equal(client.getJobStatus(), 'RUNNING', 'the job runs on');
});
