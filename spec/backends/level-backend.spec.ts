// The `level` state backend runs the shared conformance suite, with its default value cache and with a tiny one that evicts all the time; plus the cache's own rules.
import t from 'tap';
import { LevelKeyedBackend, MAX_GATHERED } from '../../src/backends/level-keyed-backend.ts';
import { createStateBackend } from '../../src/backends/state-backend-registry.ts';
import { presets, runConformance } from './conformance.ts';
import { primitives } from './conformance/primitives.ts';
import { incremental } from './conformance/incremental.ts';
import { snapshots } from './conformance/snapshots.ts';
import { valueTypes } from './conformance/value-types.ts';
import { contents, harness, snap, writeValues, type ConformanceSubject } from './conformance/harness.ts';
import { OperatorChain } from '../../src/actors/operator-chain.ts';
import { runLoop, Scheduler } from '../../src/actors/scheduler.ts';
import type { KeyedBackendOptions, StateBackend } from '../../src/backends/types.ts';
import { MemoryCheckpointStorage } from '../../src/storage/memory-checkpoint-storage.ts';

runConformance(presets.find((p) => p.name === 'level')!);

// 256 bytes hold about one slot: every read past the current batch goes back to LevelDB
const tinyCache: ConformanceSubject = { name: 'level', backend: (o) => createStateBackend('level', { ...o, cacheBytes: 256 }) };
t.test('with a cache of a few slots', async (t) => {
  primitives(t, tinyCache);
  snapshots(t, tinyCache);
  incremental(
    t,
    tinyCache,
    presets.find((p) => p.name === 'memory')!,
  );
  valueTypes(
    t,
    tinyCache,
    presets.filter((p) => p.name === 'memory'),
  );
});

// deltas write the values the changelog kept; with none kept (or a few) they read them at the snapshot
for (const chars of [0, 64]) {
  const subject: ConformanceSubject = { name: 'level', backend: (o) => createStateBackend('level', { ...o, changelogValueChars: chars }) };
  t.test(`incremental chains with ${chars} characters of changed values kept`, async (t) => {
    incremental(
      t,
      subject,
      presets.find((p) => p.name === 'memory')!,
    );
  });
}

const cached = (limit: number): ConformanceSubject => ({
  name: 'level',
  backend: (o) => createStateBackend('level', { ...o, cacheBytes: limit }),
});

t.test('the value cache stays under its bound as keys grow, and evicted keys read back from LevelDB', async (t) => {
  const limit = 64 * 1024;
  const h = harness(t, cached(limit));
  const b = h.make() as LevelKeyedBackend;
  const n = 50_000;
  const v = b.getState<number>({ kind: 'value', name: 'v' });
  const sizes: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < n; k++) {
      b.setCurrentKey(`key-${k}`);
      v.update((v.value() ?? 0) + k);
      if (k % 512 === 511) {
        await b.endBatch();
        sizes.push(b.cacheSize().bytes);
      }
    }
    await b.endBatch();
  }
  // dirty slots and those of the write in flight may not leave: up to MAX_GATHERED each
  const peak = Math.max(...sizes);
  t.ok(peak < limit + 2 * MAX_GATHERED * 250, `cache peaked at ${peak} bytes (bound ${limit} + the write overlay)`);
  t.ok(peak < (n * 200) / 2, 'far below what caching every key would take');
  await snap(b, 1); // every write on disk: now the bound holds exactly
  await b.endBatch();
  b.setCurrentKey('key-0');
  v.value();
  await b.endBatch();
  t.ok(b.cacheSize().bytes <= limit, `${b.cacheSize().bytes} bytes after the writes are on disk`);
  t.ok(b.cacheSize().entries < n / 10, `${b.cacheSize().entries} slots cached of ${n} keys`);
  const misses = b.stats.misses;
  let wrong = 0;
  for (let k = 0; k < n; k++) {
    b.setCurrentKey(`key-${k}`);
    if (v.value() !== 2 * k) wrong++;
    if (k % 512 === 511) await b.endBatch();
  }
  t.equal(wrong, 0, 'every key has both rounds of updates');
  t.ok(b.stats.misses - misses > n / 2, 'most reads went to LevelDB');
});

t.test('hot keys are served from the cache and stay right across snapshots', async (t) => {
  const h = harness(t, cached(1 << 20));
  const b = h.make() as LevelKeyedBackend;
  const v = b.getState<number>({ kind: 'value', name: 'v' });
  await writeValues(
    b,
    Array.from({ length: 100 }, (_, k) => k),
    () => 0,
  );
  const before = { ...b.stats };
  for (let i = 0; i < 10_000; i++) {
    b.setCurrentKey(i % 100);
    v.update(v.value()! + 1);
    if (i % 512 === 511) await b.endBatch();
  }
  await b.endBatch();
  t.equal(b.stats.misses, before.misses, 'no read of a hot key went to LevelDB');
  const first = await snap(b, 1);
  b.setCurrentKey(7);
  v.update(-1);
  const second = b.snapshot(2);
  b.setCurrentKey(7);
  v.update(-2); // after the barrier: in neither snapshot
  await b.endBatch();
  const r1 = h.make();
  await r1.restore([first!]);
  const r2 = h.make();
  await r2.restore([(await second.run())!]);
  for (const [r, want] of [
    [r1, 100],
    [r2, -1],
    [b, -2],
  ] as const) {
    r.setCurrentKey(7);
    t.equal(r.getState<number>({ kind: 'value', name: 'v' }).value(), want);
  }
});

t.test('a restore replaces what the cache held (keys read before it are read again)', async (t) => {
  const h = harness(t, cached(1 << 20));
  const src = h.make();
  await writeValues(src, ['a', 'b'], (k) => `${k}1`);
  const handle = await snap(src, 1);
  const b = h.make() as LevelKeyedBackend;
  const v = b.getState<string>({ kind: 'value', name: 'v' });
  b.setCurrentKey('a');
  t.equal(v.value(), undefined, 'read before the restore: absent, and cached as absent');
  await b.endBatch();
  await b.restore([handle!]);
  b.setCurrentKey('a');
  t.equal(v.value(), 'a1');
  b.setCurrentKey('b');
  t.equal(v.value(), 'b1');
});

// how few loop turns the scan takes depends on the machine's speed: `npm run bench -- level-snapshot-slices` measures it
t.test('a full snapshot taken while a busy run loop holds the event loop completes and holds every key', async (t) => {
  const h = harness(t, cached(1 << 20));
  // as a task's backend: the task layer tells it how busy the run loop is (see the next case)
  const b = h.make({ runLoopBusy: () => runLoop.busy });
  const n = 100_000; // about 2 MB of entries: 125 reads of classic-level's default 16 KiB, more than one scan batch
  await writeValues(
    b,
    Array.from({ length: n }, (_, k) => `key-${k}`),
    (k: string) => Number(k.slice(4)),
  );
  // records flowing: a task that always has work, so the loop gives I/O one turn per slice
  const scheduler = new Scheduler(1);
  let steps = 0;
  scheduler.wake({ step: () => (steps++, true) });
  const handle = await snap(b, 1);
  scheduler.stop();
  t.ok(steps > 0, 'the busy task ran during the snapshot');
  const state = await contents(handle, h.storage);
  t.equal(Object.keys(state).length, n, 'every key is in the snapshot');
  let wrong = 0;
  for (let k = 0; k < n; k++) if (state[`v/${JSON.stringify(`skey-${k}`)}`] !== k) wrong++;
  t.equal(wrong, 0, 'every value is right');
});

t.test(
  "a keyed operator's backend asks the task layer how busy the run loop is (the backends import nothing from the actors)",
  async (t) => {
    let chain: OperatorChain | null = null;
    // before t.testdir(): the test directory must outlive the backend's LevelDB (see the harness)
    t.teardown(async () => void (await chain?.close()));
    const dir = t.testdir();
    const level = createStateBackend('level', { localDir: dir });
    const seen: KeyedBackendOptions[] = [];
    const recording: StateBackend = {
      name: 'level',
      features: level.features,
      createKeyedBackend: (o) => (seen.push(o), level.createKeyedBackend(o)),
    };
    chain = new OperatorChain(
      [
        {
          id: 1,
          kind: 'operator',
          name: 'count',
          uid: 'count',
          keySelector: (r: string) => r,
          createOperator: () => ({ open() {}, processElement() {} }),
        },
      ],
      {
        runtime: { jobId: 'j', taskName: 'count', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, attemptNumber: 0 },
        backend: recording,
        storage: new MemoryCheckpointStorage(),
        checkpointingEnabled: true,
        restore: null,
      },
    );
    t.equal(seen.length, 1);
    const busy = seen[0]!.runLoopBusy!;
    const before = runLoop.busy;
    try {
      runLoop.busy = true;
      t.equal(busy(), true, 'busy while the run loop is');
      runLoop.busy = false;
      t.equal(busy(), false, 'idle while the run loop is');
    } finally {
      runLoop.busy = before;
    }
  },
);

t.test('a level backend is opening until LevelDB is open, and keeps what was written meanwhile', async (t) => {
  const h = harness(t, cached(1 << 20));
  const b = h.make();
  t.equal(b.status, 'opening');
  const v = b.getState<number>({ kind: 'value', name: 'v' });
  b.setCurrentKey('early');
  v.update(1);
  await b.endBatch();
  const handle = await snap(b, 1); // waits for LevelDB
  t.equal(b.status, 'open');
  t.same(await contents(handle, h.storage), { [`v/${JSON.stringify('searly')}`]: 1 });
});
