// The window operator on a heap backend holds fixed-size event-time windows by window (no timer per key): same output, same late handling, and snapshots that hold exactly what the per-key path holds (window lists and timers), across restores.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { keyGroupRangeForSubtask } from '../../src/backends/key-groups.ts';
import { readKeyedSnapshot } from '../../src/backends/keyed-snapshot-reader.ts';
import { createStateBackend } from '../../src/backends/state-backend-registry.ts';
import type { KeyedStateBackend, KeyedStateSnapshot, StateHandle } from '../../src/backends/types.ts';
import { OutputTag } from '../../src/operators/output-tag.ts';
import { SlidingEventTimeWindows, TumblingEventTimeWindows, type WindowAssigner } from '../../src/operators/window-assigners.ts';
import { WindowOperator, type WindowFunctionSpec } from '../../src/operators/window-operator.ts';
import { MAX_WATERMARK } from '../../src/operators/event-time.ts';
import { FileTaskStateStorage } from '../helpers/file-task-state-storage.ts';
import { operatorContext } from '../helpers/operator-context.ts';

/** The heap backend seen through an object that is not a HeapKeyedBackend: the window operator takes its per-key path on it. */
function perKeyView(b: KeyedStateBackend): KeyedStateBackend {
  return {
    get maxParallelism() {
      return b.maxParallelism;
    },
    get keyGroupRange() {
      return b.keyGroupRange;
    },
    get status() {
      return b.status;
    },
    get currentKeyGroup() {
      return b.currentKeyGroup;
    },
    setCurrentKey: (key, kg) => b.setCurrentKey(key, kg),
    getCurrentKey: () => b.getCurrentKey(),
    getState: (d) => b.getState(d),
    getListState: (d) => b.getListState(d),
    getMapState: (d) => b.getMapState(d),
    getReducingState: (d) => b.getReducingState(d),
    getAggregatingState: (d) => b.getAggregatingState(d),
    endBatch: () => b.endBatch(),
    snapshot: (id) => b.snapshot(id),
    restore: (h) => b.restore(h),
    dispose: () => b.dispose(),
  };
}

interface Side {
  backend: KeyedStateBackend;
  view: KeyedStateBackend;
  op: WindowOperator;
  /** the timestamp of the record in hand (and of what the operator emits) */
  time: { current: number | undefined };
  out: Array<[number | undefined, unknown]>;
}

const late = new OutputTag<unknown>('late');

/**
 * The output with each run of results of one timestamp sorted: which key of a window comes first is
 * not part of the semantics (timers of one time fire in no set order, in Flink too).
 */
function normalised(out: Side['out']): Array<[number | undefined, string]> {
  const runs: Array<Array<[number | undefined, string]>> = [];
  for (const [ts, r] of out) {
    const last = runs.at(-1);
    if (last && last[0]![0] === ts) last.push([ts, JSON.stringify(r)]);
    else runs.push([[ts, JSON.stringify(r)]]);
  }
  return runs.flatMap((run) => run.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)));
}

type Step = { record: [key: unknown, ts: number, value: number] } | { watermark: number } | { snapshot: true } | { restore: true };

/** Events of a few keys (strings, numbers, a tuple) with disorder, watermarks now and then, snapshots and restores. */
function script(seed: number): Step[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const keys: unknown[] = ['a', 'b', 'c', 1, 2, -0, ['t', 1]];
  const steps: Step[] = [];
  let maxTs = 0;
  for (let i = 0; i < 900; i++) {
    const ts = 1000 + i * 37 - Math.floor(rnd() * 6000);
    maxTs = Math.max(maxTs, ts);
    steps.push({ record: [keys[Math.floor(rnd() * keys.length)], ts, i] });
    if (rnd() < 0.06) steps.push({ watermark: maxTs - 2000 });
    if (rnd() < 0.05) steps.push({ snapshot: true });
    if (rnd() < 0.006) steps.push({ restore: true });
  }
  steps.push({ snapshot: true }, { watermark: MAX_WATERMARK }, { snapshot: true });
  return steps;
}

/** Key groups → state → entries, order-free (window lists by start, entries by key). */
function canonical(snapshot: KeyedStateSnapshot | null): unknown {
  if (!snapshot) return [];
  return snapshot.groups.map((g) => ({
    keyGroup: g.keyGroup,
    entries: Object.fromEntries(
      Object.entries(g.entries)
        .filter(([, e]) => e.length > 0)
        .map(([state, entries]) => [
          state,
          entries
            .map(([k, v]) => {
              const value =
                state === '_windows'
                  ? [...(v as Array<[number, number, unknown]>)].sort((a, b) => a[0] - b[0])
                  : Array.isArray(v)
                    ? [...(v as Array<[unknown, unknown]>)].sort((a, b) => String(a[0]).localeCompare(String(b[0])))
                    : v;
              return JSON.stringify([k, value]);
            })
            .sort(),
        ]),
    ),
  }));
}

const cases: Array<{ name: string; assigner: () => WindowAssigner; lateness: number; fn: () => WindowFunctionSpec; tag: boolean }> = [
  {
    name: 'tumbling, aggregate with an object accumulator, no lateness',
    assigner: () => TumblingEventTimeWindows.of(5000),
    lateness: 0,
    tag: false,
    fn: () => ({
      kind: 'aggregate',
      aggregate: {
        createAccumulator: () => ({ n: 0, sum: 0 }),
        add: (v: number, acc: { n: number; sum: number }) => {
          acc.n++;
          acc.sum += v;
          return acc;
        },
        getResult: (acc: { n: number; sum: number }) => `${acc.n}/${acc.sum}`,
      },
    }),
  },
  {
    name: 'tumbling, reduce, allowed lateness and a late side output',
    assigner: () => TumblingEventTimeWindows.of(4000),
    lateness: 3000,
    tag: true,
    fn: () => ({ kind: 'reduce', reduce: (a: number, b: number) => a + b }),
  },
  {
    name: 'sliding, process function (elements appended in place), allowed lateness',
    assigner: () => SlidingEventTimeWindows.of(6000, 2000),
    lateness: 2000,
    tag: false,
    fn: () => ({
      kind: 'process',
      process: (key: unknown, ctx, elements: Iterable<number>, out) =>
        out.collect(`${JSON.stringify(key)}@${ctx.window.start}-${ctx.window.end}:${[...elements].join(',')}`),
    }),
  },
];

for (const c of cases) {
  t.test(`${c.name}: held by window, the same as per key (output, late records, snapshots, restores)`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'floe-window-op-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const storage = new FileTaskStateStorage(join(dir, 'checkpoints'));
    const preset = createStateBackend('memory', {});
    let uid = 0;
    const makeSide = async (perKey: boolean, from: StateHandle | null, out: Side['out']): Promise<Side> => {
      const backend = preset.createKeyedBackend({
        jobId: 'spec',
        operatorUid: `windows-${++uid}`,
        subtaskIndex: 0,
        maxParallelism: 128,
        keyGroupRange: keyGroupRangeForSubtask(128, 1, 0),
        storage,
      });
      if (from) await backend.restore([from]);
      const view = perKey ? perKeyView(backend) : backend;
      const op = new WindowOperator({ assigner: c.assigner(), allowedLateness: c.lateness, lateDataTag: c.tag ? late : null, fn: c.fn() });
      const context = { ...operatorContext(), keyedState: view, operatorUid: 'windows' };
      op.open(context, {
        collect: (r) => void out.push([context.elementTimestamp.current, r]),
        sideOutput: (tag, r) => void out.push([context.elementTimestamp.current, [tag === late.id ? 'late' : tag, r]]),
      });
      return { backend, view, op, time: context.elementTimestamp, out };
    };
    let bySlot = await makeSide(false, null, []);
    let perKey = await makeSide(true, null, []);
    let checkpoint = 0;
    let handles: [StateHandle | null, StateHandle | null] = [null, null];
    let restores = 0;
    for (const step of script(c.name.length)) {
      if ('record' in step) {
        const [key, time, value] = step.record;
        for (const s of [bySlot, perKey]) {
          s.view.setCurrentKey(key);
          s.time.current = time;
          s.op.processElement(value);
        }
      } else if ('watermark' in step) {
        for (const s of [bySlot, perKey]) s.op.processWatermark(step.watermark);
        t.same(normalised(bySlot.out), normalised(perKey.out), `the same output up to watermark ${step.watermark}`);
        if (bySlot.out.length !== perKey.out.length) break;
      } else if ('snapshot' in step) {
        checkpoint++;
        const read: unknown[] = [];
        const taken: Array<StateHandle | null> = [];
        for (const s of [bySlot, perKey]) {
          s.op.snapshotState();
          const handle = await s.backend.snapshot(checkpoint).run();
          taken.push(handle);
          read.push(canonical(handle ? await readKeyedSnapshot(handle, storage) : null));
        }
        handles = [taken[0]!, taken[1]!];
        t.same(read[0], read[1], `snapshot ${checkpoint}: the same window lists and timers`);
      } else if (handles[0] && handles[1]) {
        // a failure: both restart from their last snapshot, their output since then is gone (the sink's job)
        restores++;
        for (const s of [bySlot, perKey]) {
          s.op.close();
          await s.backend.dispose();
        }
        bySlot = await makeSide(false, handles[0], bySlot.out);
        perKey = await makeSide(true, handles[1], perKey.out);
      }
    }
    t.ok(bySlot.out.length > 50, `${bySlot.out.length} results`);
    t.same(normalised(bySlot.out), normalised(perKey.out), 'the same output, in the same order but for keys of one time');
    t.equal(bySlot.op.numLateRecordsDropped, perKey.op.numLateRecordsDropped, `late records dropped: ${perKey.op.numLateRecordsDropped}`);
    t.equal(bySlot.op.numLateRecordsToSideOutput, perKey.op.numLateRecordsToSideOutput);
    t.comment(`${restores} restores, ${checkpoint} snapshots`);
    for (const s of [bySlot, perKey]) {
      s.op.close();
      await s.backend.dispose();
    }
  });
}
