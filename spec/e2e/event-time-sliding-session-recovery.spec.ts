// End to end: sliding and session windows survive a failure on every backend, aligned and unaligned; sessions open at the restore merge with what comes after it.
import t from 'tap';
import { EventTimeSessionWindows, SlidingEventTimeWindows } from '../../src/index.ts';
import { sessionCounts, slidingCounts } from '../fixtures/events.ts';
import { EVENTS, RECOVERY_MODES, checkRecovery } from '../fixtures/window-job.ts';

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
  for (const [backend, unaligned] of RECOVERY_MODES) {
    t.test(`${c.name}, ${backend}${unaligned ? ', unaligned' : ''}: a failure mid-run, every window exactly once`, (t) =>
      checkRecovery(t, backend, unaligned, c.expected, c.windows),
    );
  }
}
