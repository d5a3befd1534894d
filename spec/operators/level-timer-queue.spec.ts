// Keyed timers on the level backend (LevelTimerQueue): in LevelDB with a small heap head, against a plain model — order across key groups, refills past the head, deletes, duplicates, timers registered while firing, restores and rescales.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { keyGroupRangeForSubtask } from '../../src/backends/key-groups.ts';
import { LevelStateBackend } from '../../src/backends/level-backend.ts';
import { LevelTimerQueue } from '../../src/backends/level-timer-queue.ts';
import { createStateBackend } from '../../src/backends/state-backend-registry.ts';
import type { KeyedStateBackend, StateBackend, StateHandle } from '../../src/backends/types.ts';
import { InternalTimerService } from '../../src/operators/internal-timer-service.ts';
import { FileTaskStateStorage } from '../helpers/file-task-state-storage.ts';

/** a head this small makes nearly every firing refill from LevelDB */
const HEAD = 8;

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'floe-level-timers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const storage = new FileTaskStateStorage(join(dir, 'checkpoints'));
  const backends: KeyedStateBackend[] = [];
  t.teardown(async () => {
    for (const b of backends) await b.dispose().catch(() => {});
  });
  let n = 0;
  const make = (preset: StateBackend, parallelism = 1, subtask = 0): KeyedStateBackend => {
    const b = preset.createKeyedBackend({
      jobId: 'spec',
      operatorUid: `timers-${++n}`,
      subtaskIndex: subtask,
      maxParallelism: 128,
      keyGroupRange: keyGroupRangeForSubtask(128, parallelism, subtask),
      storage,
    });
    backends.push(b);
    return b;
  };
  const level = (incremental = false) => new LevelStateBackend({ localDir: join(dir, 'local'), timerHeadSize: HEAD, incremental });
  return { make, level };
}

type Fired = Array<[ts: number, key: unknown, domain: 'e' | 'p']>;

function service(b: KeyedStateBackend, fired: Fired, clock: () => number = () => 0, onEvent?: (ts: number, key: unknown) => void) {
  const s = new InternalTimerService(
    'spec',
    b,
    {
      onEventTime: (ts, key) => {
        fired.push([ts, key, 'e']);
        onEvent?.(ts, key);
      },
      onProcessingTime: (ts, key) => void fired.push([ts, key, 'p']),
    },
    clock,
  );
  s.restore();
  return s;
}

const inOrder = (fired: Fired) => fired.every((f, i) => i === 0 || fired[i - 1]![0] <= f[0]);

t.test('timers fire once, in time order across key groups, past many refills of a head of 8; deletes and duplicates', async (t) => {
  const { make, level } = setup(t);
  const b = make(level());
  const fired: Fired = [];
  const s = service(b, fired);
  const queue = b.timerStore!('_timer_state/event_spec') as LevelTimerQueue;
  const expected: string[] = [];
  // 400 keys (spread over the key groups), timestamps descending so the index order is not registration order
  for (let i = 0; i < 400; i++) {
    const key = i % 3 === 0 ? i : `k${i}`;
    b.setCurrentKey(key);
    const ts = 10_000 - i * 7;
    s.registerEventTimeTimer(ts);
    s.registerEventTimeTimer(ts); // one timer per key and timestamp
    s.registerEventTimeTimer(20_000);
    if (i % 10 === 0) s.deleteEventTimeTimer(20_000);
    else expected.push(`${20_000}|${String(key)}`);
    expected.push(`${ts}|${String(key)}`);
    if (i % 50 === 49) await b.endBatch();
  }
  s.deleteEventTimeTimer(123_456); // not pending: nothing happens
  t.equal(s.counts.event, expected.length, 'pending: deduplicated, deleted ones gone');
  t.ok(queue.headCount <= 2 * HEAD, `the heap holds ${queue.headCount} of ${queue.size}`);
  // a watermark that fires half: the rest stays pending
  const half = s.advanceWatermark(8_500);
  t.ok(half instanceof Promise, 'firing past the head waits for LevelDB');
  await half;
  t.ok(
    fired.every(([ts]) => ts <= 8_500),
    'only due timers fired',
  );
  t.equal(fired.length, expected.filter((e) => Number(e.split('|')[0]) <= 8_500).length, 'every due timer fired');
  await s.advanceWatermark(Number.MAX_SAFE_INTEGER);
  t.ok(inOrder(fired), 'in time order');
  t.same(fired.map(([ts, key]) => `${ts}|${String(key)}`).sort(), expected.sort(), 'each timer fired once');
  t.equal(s.counts.event, 0);
  t.ok(queue.headCount <= 2 * HEAD);
});

for (const incremental of [false, true]) {
  t.test(
    `against a model: registrations while firing, deletes, snapshots and restores (${incremental ? 'incremental' : 'full'} snapshots)`,
    async (t) => {
      const { make, level } = setup(t);
      const preset = level(incremental);
      let seed = incremental ? 7 : 3;
      const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const keys: unknown[] = ['a', 'b', 7, -0, ['t', 1], 'é', 'x'.repeat(40), ...Array.from({ length: 40 }, (_, i) => `k${i}`)];
      const id = (ts: number, key: unknown) => `${ts}|${JSON.stringify(key)}`;
      const pending = new Map<string, [number, unknown]>();
      const fired: Fired = [];
      const unexpected: string[] = [];
      let backend!: KeyedStateBackend;
      let s!: InternalTimerService;
      let watermark = -1;
      const start = async (from: StateHandle | null) => {
        backend = make(preset);
        if (from) await backend.restore([from]);
        s = service(backend, fired, undefined, (ts, key) => {
          if (!pending.delete(id(ts, key))) unexpected.push(id(ts, key));
          if (JSON.stringify(backend.getCurrentKey()) !== JSON.stringify(key)) unexpected.push(`${id(ts, key)} under another key`);
          // a timer registered while firing: at its own time (fires in this round) or later
          if (rnd() < 0.1) {
            const at = rnd() < 0.5 ? ts : ts + 1 + Math.floor(rnd() * 50);
            s.registerEventTimeTimer(at);
            pending.set(id(at, key), [at, key]);
          }
        });
      };
      await start(null);
      let checkpoint = 0;
      let restores = 0;
      for (let step = 0; step < 3000; step++) {
        const key = keys[Math.floor(rnd() * keys.length)];
        backend.setCurrentKey(key);
        const r = rnd();
        if (r < 0.6) {
          const ts = watermark + 1 + Math.floor(rnd() * 300);
          s.registerEventTimeTimer(ts);
          pending.set(id(ts, key), [ts, key]);
        } else if (r < 0.72) {
          const mine = [...pending.values()].filter(([, k]) => JSON.stringify(k) === JSON.stringify(key));
          const victim = mine[Math.floor(rnd() * mine.length)];
          if (victim) {
            s.deleteEventTimeTimer(victim[0]);
            pending.delete(id(victim[0], key));
          }
        } else if (r < 0.95) {
          watermark += Math.floor(rnd() * 40);
          const before = fired.length;
          await s.advanceWatermark(watermark);
          const now = fired.slice(before);
          t.same(
            [...pending.values()].filter(([ts]) => ts <= watermark),
            [],
            `watermark ${watermark}: every due timer fired (${now.length})`,
          );
          if (!inOrder(now)) t.fail(`out of order at watermark ${watermark}`);
        } else {
          await backend.endBatch();
          s.flush();
          const handle = await backend.snapshot(++checkpoint).run();
          backend.notifyCheckpointComplete?.(checkpoint);
          if (rnd() < 0.5 && handle) {
            await backend.dispose();
            await start(handle);
            restores++;
          }
        }
        if (s.counts.event !== pending.size) {
          t.equal(s.counts.event, pending.size, `step ${step}: the pending count`);
          break;
        }
        if ((step & 31) === 31) await backend.endBatch();
      }
      t.same(unexpected, [], 'only pending timers fired, once, under their key');
      t.ok(restores > 3, `${checkpoint} snapshots, ${restores} restores`);
      await s.advanceWatermark(Number.MAX_SAFE_INTEGER);
      t.equal(s.counts.event, 0, 'none left');
      t.equal(pending.size, 0);
      t.ok(fired.length > 500, `${fired.length} timers fired`);
    },
  );
}

t.test(
  'rescale 2 → 3 and 4 → 1, onto level and memory: every timer fires once, in order; overdue processing-time timers at once',
  async (t) => {
    const { make, level } = setup(t);
    const keys = Array.from({ length: 300 }, (_, i) => (i % 2 ? `u${i}` : i));
    const expected: string[] = [];
    for (const [i, k] of keys.entries()) {
      expected.push(`e|${100 + (i % 50)}|${k}`, `e|${5000 + i}|${k}`, `p|${1000 + (i % 5)}|${k}`);
    }
    for (const [from, to] of [
      [2, 3],
      [4, 1],
    ] as const) {
      for (const target of ['level', 'memory'] as const) {
        const handles: StateHandle[] = [];
        for (let sub = 0; sub < from; sub++) {
          const b = make(level(true), from, sub);
          const fired: Fired = [];
          const s = service(b, fired);
          for (const [i, k] of keys.entries()) {
            try {
              b.setCurrentKey(k);
            } catch {
              continue; // another subtask's key group
            }
            s.registerEventTimeTimer(100 + (i % 50));
            s.registerEventTimeTimer(5000 + i);
            s.registerEventTimeTimer(9999);
            s.registerProcessingTimeTimer(1000 + (i % 5));
          }
          await b.endBatch();
          // a first (full) snapshot, then changes and a delta on top of it
          await b.snapshot(1).run();
          b.notifyCheckpointComplete?.(1);
          for (const k of keys) {
            try {
              b.setCurrentKey(k);
            } catch {
              continue;
            }
            s.deleteEventTimeTimer(9999);
          }
          await b.endBatch();
          const h = await b.snapshot(2).run();
          t.equal(h?.type, 'incremental');
          if (h) handles.push(h);
          s.dispose();
        }
        const fired: Fired = [];
        for (let sub = 0; sub < to; sub++) {
          const preset = target === 'level' ? level() : createStateBackend('memory');
          const b = make(preset, to, sub);
          await b.restore(handles);
          const mine: Fired = [];
          // the clock is past every processing-time timer: they were due during the downtime
          const s = service(b, mine, () => 2000);
          await s.onProcessingTime(2000);
          await s.advanceWatermark(1000);
          await s.advanceWatermark(20_000);
          t.ok(inOrder(mine.filter((f) => f[2] === 'e')), `${from} → ${to} on ${target}, subtask ${sub}: event timers in order`);
          t.same(s.counts, { event: 0, processing: 0 }, 'nothing left pending');
          fired.push(...mine);
          s.dispose();
        }
        t.same(
          fired.map(([ts, key, d]) => `${d}|${ts}|${String(key)}`).sort(),
          [...expected].sort(),
          `${from} → ${to} on ${target}: each timer once`,
        );
      }
    }
  },
);

t.test('a snapshot holds the canonical map entries, restored on the heap backend as they are', async (t) => {
  const { make, level } = setup(t);
  const b = make(level());
  const s = service(b, []);
  for (let i = 0; i < 50; i++) {
    b.setCurrentKey(`k${i}`);
    s.registerEventTimeTimer(1000 + i);
  }
  await b.endBatch();
  const handle = (await b.snapshot(1).run())!;
  const heap = make(createStateBackend('memory'));
  await heap.restore([handle]);
  const fired: Fired = [];
  const h = service(heap, fired);
  t.equal(h.counts.event, 50, 'the heap queue reads them from map state');
  h.advanceWatermark(1024);
  t.same(
    fired.map(([ts, key]) => `${ts}|${String(key)}`),
    Array.from({ length: 25 }, (_, i) => `${1000 + i}|k${i}`),
  );
  t.throws(() => b.getMapState({ kind: 'map', name: '_timer_state/event_spec' }), TypeError, 'timer states are not map state on level');
});
