// File checkpoint storage on real files: inline parts, checksums, write failures, _metadata, retention, shared files, fallback, local recovery.
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';
import t from 'tap';
import type { StateHandle } from '../../src/backends/types.ts';
import type { CompletedCheckpoint } from '../../src/checkpoint/completed-checkpoint.ts';
import { loadCheckpoint, writeMetadata } from '../../src/storage/checkpoint-metadata.ts';
import { resolveRestorePath } from '../../src/storage/checkpoint-recovery.ts';
import { FileCheckpointStorage } from '../../src/storage/file-checkpoint-storage.ts';
import { fileHandlesOf } from '../../src/storage/state-handles.ts';
import { linkOrCopyDurable } from '../../src/storage/durable-files.ts';
import type { RestoreWarning } from '../../src/storage/types.ts';

const bytes = (n: number, fill = 7) => Buffer.alloc(n, fill);

/** A completed checkpoint whose one keyed operator has `handle` (plus operator state with user values). */
function checkpointWith(id: number, handles: Array<StateHandle | null>): CompletedCheckpoint {
  return {
    id,
    kind: 'checkpoint',
    timestamp: 1000 * id,
    completedAt: 1000 * id + 5,
    durationMs: 5,
    stateSize: 0,
    maxParallelism: 128,
    operators: {
      count: {
        parallelism: handles.length,
        subtasks: handles.map((keyed) => ({ keyed, operator: { pos: { mode: 'split', items: [id, new Map([['k', new Date(5)]])] } } })),
      },
    },
  };
}

function flipByte(path: string, at = 10): void {
  const b = readFileSync(path);
  b[at] = b[at]! ^ 0xff;
  writeFileSync(path, b);
}

t.test("parts under the threshold come back inline, larger ones as fsync'd files that read back checksummed", async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 100 });
  const sub = storage.forSubtask('count/op', 0);
  const small = await sub.write(1, 'exclusive', bytes(99));
  t.equal(small.type, 'bytes', '99 bytes < 100: inline');
  const big = await sub.write(1, 'exclusive', bytes(100, 3));
  t.match(big, { type: 'file', size: 100, path: /^chk-1\/count_op-0-/ });
  async function* chunks() {
    for (let i = 0; i < 5; i++) yield bytes(40, i);
  }
  const streamed = await sub.write(1, 'shared', chunks());
  t.match(streamed, { type: 'file', size: 200, path: /^shared\// });
  t.same(await sub.read(big), bytes(100, 3));
  const all = await sub.read(streamed);
  t.equal(all[0], 0);
  t.equal(all[199], 4);
  t.same(await sub.read(small), bytes(99), 'inline bytes read back');
  const abs = { ...(big as Extract<StateHandle, { type: 'file' }>), path: join(storage.jobDir, (big as { path: string }).path) };
  t.same(await sub.read(abs), bytes(100, 3), 'an absolute path (savepoint, -s restore) reads too');
  t.same(storage.stats, { filesWritten: 2, inlined: 1, remoteReads: 3, localReads: 0 });

  flipByte(join(storage.jobDir, (big as { path: string }).path));
  await t.rejects(sub.read(big), { code: 'FLOE_CHECKPOINT_FILE_CORRUPT' }, 'a flipped byte is caught');
  rmSync(join(storage.jobDir, (streamed as { path: string }).path));
  await t.rejects(sub.read(streamed), { code: 'FLOE_CHECKPOINT_FILE_MISSING' });
});

t.test('a write that cannot reach the disk rejects with the cause; the next one succeeds', async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0 });
  const sub = storage.forSubtask('op', 0);
  // works as root too: the job directory is replaced by a file
  renameSync(storage.jobDir, `${storage.jobDir}.away`);
  writeFileSync(storage.jobDir, 'not a directory');
  const err = await sub.write(1, 'exclusive', bytes(10)).catch((e) => e);
  t.equal(err.code, 'FLOE_CHECKPOINT_WRITE_FAILED');
  t.match(err.message, /checkpoint 1/);
  t.ok(err.cause, 'the file system error is the cause');
  await t.rejects(storage.persist(checkpointWith(1, [null])), /ENOTDIR|EEXIST|not a directory/, '_metadata cannot be written either');
  rmSync(storage.jobDir);
  renameSync(`${storage.jobDir}.away`, storage.jobDir);
  const h = await sub.write(2, 'exclusive', bytes(10));
  await storage.persist(checkpointWith(2, [h]));
  t.same(storage.retained, [2]);
  t.same((await loadCheckpoint(storage.checkpointDir(2))).checkpoint.operators.count!.subtasks[0]!.keyed!.size, 10);
});

t.test('_metadata: relative paths (the directory can move), generic content, and one error code per damage', async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0 });
  const sub = storage.forSubtask('count', 0);
  const own = await sub.write(3, 'exclusive', bytes(50, 1));
  const shared = await sub.write(3, 'shared', bytes(60, 2));
  const cp = checkpointWith(3, [{ type: 'incremental', base: shared, deltas: [own], size: 110 }]);
  (cp as unknown as { channelState: unknown }).channelState = {
    '0': { type: 'file', path: (own as { path: string }).path, size: 50, checksum: (own as { checksum: string }).checksum },
  };
  await storage.persist(cp);
  const chk = storage.checkpointDir(3);
  const raw = readFileSync(join(chk, '_metadata')).toString('latin1');
  t.match(raw, /\.\.\/shared\//, 'shared files referenced as ../shared/...');
  t.notMatch(raw, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no absolute path inside');

  const moved = join(dir, 'moved');
  cpSync(storage.jobDir, moved, { recursive: true });
  const loaded = await loadCheckpoint(join(moved, 'chk-3'));
  const handles = fileHandlesOf(loaded.checkpoint);
  t.equal(handles.length, 3, "base, delta and the extra field's handle");
  t.ok(
    handles.every((h) => isAbsolute(h.path) && h.path.startsWith(moved)),
    'rebased into the moved directory',
  );
  t.same((loaded.checkpoint as unknown as { channelState: object }).channelState, { '0': handles[2] }, 'fields other parts add survive');
  t.same(
    loaded.checkpoint.operators.count!.subtasks[0]!.operator,
    cp.operators.count!.subtasks[0]!.operator,
    'operator state with Map and Date round-trips',
  );
  t.same(await storage.forSubtask('count', 0).read(handles[0]!), bytes(60, 2));

  const damage = async (name: string, act: (d: string) => void, code: string) => {
    const d = join(dir, name);
    cpSync(storage.jobDir, d, { recursive: true });
    act(join(d, 'chk-3'));
    await t.rejects(loadCheckpoint(join(d, 'chk-3')), { code }, name);
  };
  await damage('truncated', (c) => truncateSync(join(c, '_metadata'), 40), 'FLOE_CHECKPOINT_METADATA_CORRUPT');
  await damage('flipped-metadata', (c) => flipByte(join(c, '_metadata'), 30), 'FLOE_CHECKPOINT_METADATA_CORRUPT');
  await damage(
    'version',
    (c) => {
      const b = readFileSync(join(c, '_metadata'));
      b.writeUInt32BE(99, 8);
      writeFileSync(join(c, '_metadata'), b);
    },
    'FLOE_CHECKPOINT_METADATA_VERSION',
  );
  await damage('no-metadata', (c) => rmSync(join(c, '_metadata')), 'FLOE_CHECKPOINT_METADATA_MISSING');
  await damage('shared-gone', (c) => rmSync(join(c, '..', 'shared'), { recursive: true }), 'FLOE_CHECKPOINT_FILE_MISSING');
  await damage(
    'state-flipped',
    (c) =>
      flipByte(
        join(
          c,
          readdirSync(c).find((f) => f !== '_metadata')!,
        ),
      ),
    'FLOE_CHECKPOINT_FILE_CORRUPT',
  );
  await t.rejects(loadCheckpoint(join(dir, 'nowhere')), { code: 'FLOE_CHECKPOINT_NOT_FOUND' });
  await writeMetadata(join(dir, 'moved', 'chk-3'), loaded.checkpoint);
  t.ok(
    await loadCheckpoint(join(dir, 'moved', 'chk-3')),
    'rewriting metadata of a loaded (absolute) checkpoint works: savepoints reuse it',
  );
});

t.test(
  'reference counting: after many incremental checkpoints with num-retained 3, shared/ holds exactly what the 3 retained reference',
  async (t) => {
    const dir = t.testdir();
    const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0, numRetained: 3 });
    const subs = [storage.forSubtask('count', 0), storage.forSubtask('count', 1)];
    const chains = subs.map(() => ({ base: null as StateHandle | null, deltas: [] as StateHandle[] }));
    const history: CompletedCheckpoint[] = [];
    for (let id = 1; id <= 25; id++) {
      const handles: StateHandle[] = [];
      for (const [i, sub] of subs.entries()) {
        const chain = chains[i]!;
        // materialise every 4th checkpoint (subtask 1 on another rhythm), else append a delta
        if (!chain.base || id % (4 + i) === 0) {
          chain.base = await sub.write(id, 'shared', bytes(30 + id, id));
          chain.deltas = [];
        } else chain.deltas.push(await sub.write(id, 'shared', bytes(10 + id, id)));
        handles.push({ type: 'incremental', base: chain.base, deltas: [...chain.deltas], size: 0 });
      }
      const cp = checkpointWith(id, handles);
      await storage.persist(cp);
      history.push(cp);
      const retained = history.slice(-3);
      t.same(
        storage.retained,
        retained.map((c) => c.id),
      );
      const expected = new Set(retained.flatMap((c) => fileHandlesOf(c).map((h) => (h.path as string).replace(/^shared\//, ''))));
      t.same(new Set(readdirSync(storage.sharedDir)), expected, `after checkpoint ${id}: no file missing, none left over`);
      t.same(
        readdirSync(storage.jobDir)
          .filter((f) => f.startsWith('chk-'))
          .sort(),
        retained.map((c) => `chk-${c.id}`).sort(),
      );
      for (const c of retained) await loadCheckpoint(storage.checkpointDir(c.id)); // never deleted too early
    }
  },
);

t.test(
  'restore point: a damaged newest checkpoint is reported and dropped, the previous one restores; none usable lists what was tried',
  async (t) => {
    const dir = t.testdir();
    const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0, numRetained: 3 });
    const sub = storage.forSubtask('count', 0);
    const base = await sub.write(1, 'shared', bytes(40, 1));
    await storage.persist(checkpointWith(1, [{ type: 'incremental', base, deltas: [], size: 40 }]));
    const d2 = await sub.write(2, 'shared', bytes(20, 2));
    await storage.persist(checkpointWith(2, [{ type: 'incremental', base, deltas: [d2], size: 60 }]));
    const d3 = await sub.write(3, 'exclusive', bytes(20, 3));
    await storage.persist(checkpointWith(3, [d3]));
    truncateSync(join(storage.checkpointDir(3), '_metadata'), 12);
    rmSync(join(storage.jobDir, (d2 as { path: string }).path));
    const warnings: RestoreWarning[] = [];
    const restored = await storage.restorePoint((w) => warnings.push(w));
    t.equal(restored!.id, 1);
    t.match(warnings, [
      { checkpoint: /chk-3$/, reason: /truncated/ },
      { checkpoint: /chk-2$/, reason: /missing/ },
    ]);
    t.same(storage.retained, [1]);
    t.ok(existsSync(join(storage.jobDir, (base as { path: string }).path)), 'the base checkpoint 1 still needs is kept');
    t.same(await sub.read(fileHandlesOf(restored)[0]!), bytes(40, 1));

    flipByte(join(storage.jobDir, (base as { path: string }).path));
    const err = await storage.restorePoint(() => {}).catch((e) => e);
    t.equal(err.code, 'FLOE_NO_USABLE_CHECKPOINT');
    t.match(err.message, /chk-1: .*checksum/);
    t.equal(await storage.restorePoint(() => {}), null, 'nothing retained any more');
  },
);

t.test('restore from disk: a chk-<n> path falls back to older chk-<m> beside it; a job directory tries newest first', async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0, numRetained: 3, retention: 'RETAIN_ON_CANCELLATION' });
  const sub = storage.forSubtask('count', 0);
  for (let id = 1; id <= 3; id++) await storage.persist(checkpointWith(id, [await sub.write(id, 'exclusive', bytes(30, id))]));
  await storage.shutdown('CANCELED');
  t.same(readdirSync(storage.jobDir).filter((f) => f.startsWith('chk-')).length, 3, 'RETAIN_ON_CANCELLATION keeps them');
  t.equal((await resolveRestorePath(storage.checkpointDir(2))).checkpoint.id, 2);
  t.equal((await resolveRestorePath(storage.jobDir)).checkpoint.id, 3);
  const c3 = storage.checkpointDir(3);
  flipByte(
    join(
      c3,
      readdirSync(c3).find((f) => f !== '_metadata')!,
    ),
  );
  const warnings: RestoreWarning[] = [];
  t.equal((await resolveRestorePath(c3, (w) => warnings.push(w))).checkpoint.id, 2, 'flipped state file: fall back to chk-2');
  t.match(warnings, [{ reason: /checksum/ }]);
  rmSync(join(storage.checkpointDir(1), '_metadata'));
  rmSync(storage.checkpointDir(2), { recursive: true });
  const err = await resolveRestorePath(c3).catch((e) => e);
  t.equal(err.code, 'FLOE_NO_USABLE_CHECKPOINT');
  t.match(err.message, /chk-3: .*checksum.*chk-1: .*_metadata/);
  await t.rejects(resolveRestorePath(join(dir, 'nope')), { code: 'FLOE_CHECKPOINT_NOT_FOUND' });
});

t.test('externalized retention decides what stays when the job ends', async (t) => {
  const cases: Array<[string, 'FINISHED' | 'CANCELED' | 'FAILED', boolean]> = [
    ['DELETE_ON_CANCELLATION', 'CANCELED', false],
    ['DELETE_ON_CANCELLATION', 'FINISHED', false],
    ['DELETE_ON_CANCELLATION', 'FAILED', true],
    ['RETAIN_ON_CANCELLATION', 'CANCELED', true],
    ['RETAIN_ON_CANCELLATION', 'FINISHED', true],
    ['NO_EXTERNALIZED_CHECKPOINTS', 'FAILED', false],
    ['NO_EXTERNALIZED_CHECKPOINTS', 'CANCELED', false],
  ];
  for (const [retention, status, kept] of cases) {
    const dir = t.testdir();
    const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0, retention: retention as never });
    await storage.persist(checkpointWith(1, [await storage.forSubtask('op', 0).write(1, 'shared', bytes(9))]));
    await storage.shutdown(status);
    t.equal(existsSync(join(storage.checkpointDir(1), '_metadata')), kept, `${retention} on ${status}: ${kept ? 'kept' : 'deleted'}`);
    t.equal(existsSync(storage.jobDir), kept);
  }
});

t.test("an aborted checkpoint's partial files go; savepoint completions are not retained as checkpoints", async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({ dir, jobId: 'job', memoryThreshold: 0 });
  await storage.forSubtask('op', 0).write(4, 'exclusive', bytes(9));
  t.ok(existsSync(storage.checkpointDir(4)));
  await storage.discard(4);
  t.notOk(existsSync(storage.checkpointDir(4)), 'half-written chk-4 removed');
  await storage.persist({ ...checkpointWith(5, [null]), kind: 'savepoint' });
  t.same(storage.retained, []);
  t.notOk(existsSync(join(storage.checkpointDir(5), '_metadata')));
});

t.test('local recovery: reads prefer the task-local copy, a bad copy falls back to the checkpoint directory', async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({
    dir: join(dir, 'chk'),
    jobId: 'job',
    memoryThreshold: 0,
    localRecovery: { dir: join(dir, 'local') },
  });
  const sub = storage.forSubtask('op', 0);
  const h1 = await sub.write(1, 'exclusive', bytes(64, 1));
  await storage.persist(checkpointWith(1, [h1]));
  const h2 = await sub.write(2, 'exclusive', bytes(64, 2));
  await storage.persist(checkpointWith(2, [h2]));
  const localCopy = join(dir, 'local', 'job', (h2 as { path: string }).path);
  t.ok(existsSync(localCopy));
  t.notOk(existsSync(join(dir, 'local', 'job', (h1 as { path: string }).path)), 'only the last snapshot is kept locally');
  const restored = await storage.restorePoint(() => {});
  t.same(await sub.read(fileHandlesOf(restored)[0]!), bytes(64, 2));
  t.same(storage.stats, { filesWritten: 2, inlined: 0, remoteReads: 0, localReads: 1 });
  flipByte(localCopy, 3);
  t.same(await sub.read(h2), bytes(64, 2), 'a damaged local copy is ignored');
  t.equal(storage.stats.remoteReads, 1);
  await storage.shutdown('FINISHED');
  t.notOk(existsSync(join(dir, 'local', 'job')), 'local copies go with the job');
});

t.test(
  'a durable state file placed elsewhere: hard-linked on the same file system, copied across, refused when its size changed',
  async (t) => {
    const dir = t.testdir({ 'state.bin': 'x'.repeat(1000) });
    const from = join(dir, 'state.bin');
    t.equal(await linkOrCopyDurable(from, join(dir, 'linked.bin'), 1000), 'linked');
    t.equal(statSync(join(dir, 'linked.bin')).ino, statSync(from).ino, 'one file, two names');
    // another file system (tmpfs), where no link can reach: a copy with the same bytes
    if (existsSync('/dev/shm')) {
      const other = mkdtempSync('/dev/shm/floe-spec-');
      t.teardown(() => rmSync(other, { recursive: true, force: true }));
      t.equal(await linkOrCopyDurable(from, join(other, 'copied.bin'), 1000), 'copied');
      t.same(readFileSync(join(other, 'copied.bin')), readFileSync(from));
    }
    await t.rejects(linkOrCopyDurable(from, join(dir, 'short.bin'), 999), { code: 'FLOE_CHECKPOINT_FILE_CORRUPT' });
    t.notOk(existsSync(join(dir, 'short.bin')), 'nothing left of a refused placement');
    await t.rejects(linkOrCopyDurable(join(dir, 'gone.bin'), join(dir, 'gone-2.bin'), 1), { code: 'ENOENT' });
    rmSync(from);
    t.equal(readFileSync(join(dir, 'linked.bin'), 'utf8'), 'x'.repeat(1000), "the checkpoint's name deleted: the placed file is whole");
  },
);
