// End to end: sliding and session windows survive a failure on every backend, aligned and unaligned; sessions open at the restore merge with what comes after it.
import { join } from 'node:path';
import t from 'tap';
import { EventTimeSessionWindows, SlidingEventTimeWindows, type JobClient } from '../../src/index.ts';
import { sessionCounts, slidingCounts } from '../fixtures/events.ts';
import { EVENTS, INPUT, visible, windowJob } from '../fixtures/window-job.ts';

const GAP = 3000;
const cases = [
  { name: 'sliding 10 s every 5 s', windows: SlidingEventTimeWindows.of(10_000, 5000), expected: slidingCounts(EVENTS, 10_000, 5000) },
  { name: 'sessions with a 3 s gap', windows: EventTimeSessionWindows.withGap(GAP), expected: sessionCounts(EVENTS, GAP) },
];

t.test('the expectations are not trivial: many sessions per user, some merged from events exactly a gap apart', async (t) => {
  const sessions = cases[1]!.expected.map((l) => JSON.parse(l) as { key: string; n: number });
  t.ok(sessions.length > 300, `${sessions.length} sessions`);
  t.ok(
    sessions.some((s) => s.n > 3),
    'sessions of several events',
  );
  // Flink's rule on the boundary, proven on a small input: events exactly `gap` apart are one session
  t.same(
    sessionCounts(
      [
        { user: 'a', ts: 0, n: 0 },
        { user: 'a', ts: GAP, n: 1 },
        { user: 'a', ts: 2 * GAP + 1, n: 2 },
      ],
      GAP,
    ),
    [JSON.stringify({ key: 'a', start: 0, end: 2 * GAP, n: 2 }), JSON.stringify({ key: 'a', start: 2 * GAP + 1, end: 3 * GAP + 1, n: 1 })],
  );
});

for (const c of cases) {
  for (const [backend, unaligned] of [
    ['memory', false],
    ['fs', false],
    ['level', false],
    ['level', true],
  ] as const) {
    t.test(`${c.name}, ${backend}${unaligned ? ', unaligned' : ''}: a failure mid-run, every window exactly once`, async (t) => {
      const dir = t.testdir({ 'events.jsonl': INPUT });
      let completed = 0;
      const env = windowJob(
        t,
        dir,
        {
          backend,
          parallelism: 2,
          failAfter: 1,
          slowMs: 0.1,
          windows: c.windows,
          config: unaligned ? { 'execution.checkpointing.unaligned': true } : {},
        },
        { completed: () => completed },
      );
      const client: JobClient = await env.executeAsync(`windows-${backend}`);
      const restored: Array<number | null> = [];
      client.on('checkpoint-completed', () => completed++);
      client.on('running', ({ restoredFrom }) => restored.push(restoredFrom));
      const result = await client.getJobExecutionResult();
      t.equal(result.status, 'FINISHED');
      t.equal(result.restarts, 1, 'the injected failure restarted the job');
      t.ok(restored[1] !== null && restored[1] !== undefined, `the restart restored checkpoint ${restored[1]}`);
      const lines = visible(join(dir, 'out')).sort();
      t.equal(lines.length, c.expected.length, 'one line per user and window');
      t.same(lines, c.expected, 'every window once, with its exact count');
    });
  }
}
