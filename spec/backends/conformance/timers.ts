// Conformance: keyed timers (event and processing time) live in keyed state: snapshot, rescale (2 → 3, 4 → 1) and backend switch carry them.
import type { Test } from 'tap';
import type { KeyedStateBackend, StateHandle } from '../../../src/backends/types.ts';
import { InternalTimerService } from '../../../src/operators/internal-timer-service.ts';
import { harness, snap, type ConformanceSubject } from './harness.ts';

const keys = Array.from({ length: 600 }, (_, i) => `k${i}`);

interface Fired {
  fired: string[];
  service: InternalTimerService;
}

function service(b: KeyedStateBackend, clock: () => number = () => 0): Fired {
  const fired: string[] = [];
  const s = new InternalTimerService(
    't',
    b,
    {
      onEventTime: (ts, key) => fired.push(`e:${String(key)}@${ts}`),
      onProcessingTime: (ts, key) => fired.push(`p:${String(key)}@${ts}`),
    },
    clock,
  );
  s.restore();
  return { fired, service: s };
}

/** Each key gets event timers at 100 + i % 7 and 1000, and a processing timer at 5000 + i % 3; key k3's 1000 is deleted. */
async function registerAll(subs: KeyedStateBackend[]): Promise<InternalTimerService[]> {
  const services: InternalTimerService[] = [];
  for (const b of subs) {
    const { service: s } = service(b);
    services.push(s);
    for (const [i, k] of keys.entries()) {
      // only the keys of this subtask's key groups, as a task after keyBy (setCurrentKey refuses the others)
      try {
        b.setCurrentKey(k);
      } catch {
        continue;
      }
      s.registerEventTimeTimer(100 + (i % 7));
      s.registerEventTimeTimer(1000);
      s.registerEventTimeTimer(1000); // one timer per key and timestamp
      s.registerProcessingTimeTimer(5000 + (i % 3));
      if (k === 'k3') s.deleteEventTimeTimer(1000);
    }
    await b.endBatch();
  }
  return services;
}

function expected(): string[] {
  const out: string[] = [];
  for (const [i, k] of keys.entries()) {
    out.push(`e:${k}@${100 + (i % 7)}`);
    if (k !== 'k3') out.push(`e:${k}@1000`);
    out.push(`p:${k}@${5000 + (i % 3)}`);
  }
  return out.sort();
}

export function timers(t: Test, subject: ConformanceSubject, others: ConformanceSubject[]): void {
  t.test(
    'timers: restored at 2 → 3 and 4 → 1 (also on the other backends), every timer fires once, overdue processing-time timers at once',
    async (t) => {
      const h = harness(t, subject);
      for (const [from, to] of [
        [2, 3],
        [4, 1],
      ] as const) {
        for (const target of [subject, ...others]) {
          const firstRun = Array.from({ length: from }, (_, i) => h.make({ parallelism: from, subtask: i }));
          const regs = await registerAll(firstRun);
          // the operator writes its timers into keyed state when it snapshots
          for (const s of regs) s.flush();
          t.equal(
            regs.reduce((n, s) => n + s.counts.event, 0),
            keys.length * 2 - 1,
            'pending event timers (deduplicated, one deleted)',
          );
          const handles: StateHandle[] = [];
          for (const b of firstRun) {
            const hs = await snap(b, 1);
            if (hs) handles.push(hs);
          }
          const fired: string[] = [];
          const restored = Array.from({ length: to }, (_, i) => h.makeOther(target, { parallelism: to, subtask: i }));
          for (const b of restored) {
            await b.restore(handles);
            // the clock is past every processing-time timer: they were due during the downtime
            const f = service(b, () => 10_000);
            f.service.advanceWatermark(500);
            f.service.advanceWatermark(2000);
            f.service.onProcessingTime(10_000);
            f.service.advanceWatermark(3000);
            fired.push(...f.fired);
            t.same(f.service.counts, { event: 0, processing: 0 }, 'nothing left pending');
          }
          t.same(fired.sort(), expected(), `${from} → ${to} on ${target.name}: each timer fired once`);
        }
      }
    },
  );

  t.test('timers fire in timestamp order under their key, and a deleted one never', async (t) => {
    const h = harness(t, subject);
    const b = h.make();
    const { fired, service: s } = service(b);
    for (const [k, ts] of [
      ['a', 30],
      ['b', 10],
      ['a', 20],
      ['c', 20],
    ] as const) {
      b.setCurrentKey(k);
      s.registerEventTimeTimer(ts);
    }
    b.setCurrentKey('c');
    s.deleteEventTimeTimer(20);
    s.advanceWatermark(25);
    t.same(fired, ['e:b@10', 'e:a@20']);
    t.equal(s.currentWatermark(), 25);
    s.advanceWatermark(30);
    t.same(fired, ['e:b@10', 'e:a@20', 'e:a@30']);
    t.throws(() => s.registerEventTimeTimer(Number.NaN), { code: 'FLOE_BAD_TIMER' });
  });
}
