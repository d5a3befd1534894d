// The heap timer queue against a plain model: timers in and out of order (its sorted run and its heap), duplicates, deletes, many keys at one time, timers registered while firing, snapshots and restores in between.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { keyGroupRangeForSubtask } from '../../src/backends/key-groups.ts';
import { createStateBackend } from '../../src/backends/state-backend-registry.ts';
import type { KeyedStateBackend, StateHandle } from '../../src/backends/types.ts';
import { InternalTimerService } from '../../src/operators/internal-timer-service.ts';
import { FileTaskStateStorage } from '../helpers/file-task-state-storage.ts';

for (const order of ['ascending', 'mixed'] as const) {
  t.test(`${order} timestamps: every timer fires once, in time order, under its key; deleted ones never`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'floe-timer-queue-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const storage = new FileTaskStateStorage(dir);
    const preset = createStateBackend('memory', {});
    let seed = order.length;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const keys: unknown[] = ['a', 'b', 7, -0, ['t', 1], NaN];
    /** the model: `${ts}|${key}` of pending timers */
    const pending = new Map<string, [number, unknown]>();
    const id = (ts: number, key: unknown) => `${ts}|${JSON.stringify(key)}`;
    const fired: Array<[number, unknown]> = [];
    /** timers fired that were not pending (twice, deleted, never registered) */
    const unexpected: string[] = [];
    let backend!: KeyedStateBackend;
    let service!: InternalTimerService;
    let lastId = 0;
    const start = async (from: StateHandle | null) => {
      backend = preset.createKeyedBackend({
        jobId: 'spec',
        operatorUid: `timers-${++lastId}`,
        subtaskIndex: 0,
        maxParallelism: 128,
        keyGroupRange: keyGroupRangeForSubtask(128, 1, 0),
        storage,
      });
      if (from) await backend.restore([from]);
      service = new InternalTimerService('spec', backend, {
        onEventTime: (ts, key) => {
          fired.push([ts, key]);
          if (!pending.delete(id(ts, key))) unexpected.push(id(ts, key));
          if (!Object.is(backend.getCurrentKey(), key)) unexpected.push(`${id(ts, key)} under another key`);
          // a timer registered while firing, at the same time (fires in this round) or later
          if (rnd() < 0.05) {
            const at = rnd() < 0.5 ? ts : ts + 1 + Math.floor(rnd() * 50);
            service.registerEventTimeTimer(at);
            pending.set(id(at, key), [at, key]);
          }
        },
        onProcessingTime: () => {},
      });
      service.restore();
    };
    await start(null);
    let watermark = -1;
    let next = 0;
    let checkpoint = 0;
    for (let step = 0; step < 4000; step++) {
      const key = keys[Math.floor(rnd() * keys.length)];
      backend.setCurrentKey(key);
      const r = rnd();
      if (r < 0.6) {
        // ascending: each time at or after the last (a sorted run); mixed: anywhere ahead of the watermark
        const ts = order === 'ascending' ? (next += Math.floor(rnd() * 3)) : watermark + 1 + Math.floor(rnd() * 300);
        next = Math.max(next, watermark + 1);
        service.registerEventTimeTimer(ts);
        pending.set(id(ts, key), [ts, key]);
      } else if (r < 0.7) {
        const mine = [...pending.values()].filter(([, k]) => Object.is(k, key) || JSON.stringify(k) === JSON.stringify(key));
        const victim = mine[Math.floor(rnd() * mine.length)];
        if (victim) {
          service.deleteEventTimeTimer(victim[0]);
          pending.delete(id(victim[0], key));
        }
      } else if (r < 0.95) {
        watermark += Math.floor(rnd() * 40);
        const before = fired.length;
        service.advanceWatermark(watermark);
        const now = fired.slice(before);
        const left = [...pending.values()].filter(([ts]) => ts <= watermark);
        t.same(left, [], `watermark ${watermark}: every due timer fired (${now.length})`);
        t.same(unexpected, [], 'only pending timers fired, once, under their key');
        for (let i = 1; i < now.length; i++) if (now[i]![0] < now[i - 1]![0]) t.fail(`out of order at ${now[i]![0]}`);
        if (left.length > 0 || unexpected.length > 0) break;
      } else {
        service.flush();
        const handle = await backend.snapshot(++checkpoint).run();
        if (rnd() < 0.5) {
          // a restart from this snapshot: the model is what it holds
          await backend.dispose();
          await start(handle);
        }
      }
      if (service.counts.event !== pending.size) {
        t.equal(service.counts.event, pending.size, `step ${step}: the pending count`);
        break;
      }
    }
    t.pass(`${checkpoint} snapshots, ${lastId - 1} restores`);
    service.advanceWatermark(Number.MAX_SAFE_INTEGER);
    t.equal(service.counts.event, 0, 'none left');
    t.ok(fired.length > 500, `${fired.length} timers fired`);
    await backend.dispose();
  });
}
