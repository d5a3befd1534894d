// Window assigners refuse bad sizes, slides, gaps and offsets with a coded error that names the assigner
// and the setting, and a hint that shows that same assigner used well.
import t from 'tap';
import {
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from '../../src/index.ts';

const cases: Array<[string, () => unknown, string, RegExp]> = [
  ['TumblingEventTimeWindows.of', () => TumblingEventTimeWindows.of(0), 'FLOE_WINDOW_SIZE', /a window size must be larger than 0, got 0/],
  ['TumblingProcessingTimeWindows.of', () => TumblingProcessingTimeWindows.of('-1s'), 'FLOE_WINDOW_SIZE', /a window size .* "-1s"/],
  ['SlidingEventTimeWindows.of', () => SlidingEventTimeWindows.of('1 min', 0), 'FLOE_WINDOW_SIZE', /a window slide must be larger than 0/],
  [
    'SlidingProcessingTimeWindows.of',
    () => SlidingProcessingTimeWindows.of('1s', '2s'),
    'FLOE_WINDOW_SLIDE',
    /slide \(2000 ms\) .* size \(1000 ms\)/,
  ],
  ['EventTimeSessionWindows.withGap', () => EventTimeSessionWindows.withGap(0), 'FLOE_WINDOW_SIZE', /a session gap must be larger than 0/],
  [
    'ProcessingTimeSessionWindows.withGap',
    () => ProcessingTimeSessionWindows.withGap('soon'),
    'FLOE_WINDOW_SIZE',
    /a session gap .* "soon"/,
  ],
  [
    'SlidingEventTimeWindows.of',
    () => SlidingEventTimeWindows.of('1 min', '10s', '20s'),
    'FLOE_WINDOW_OFFSET',
    /smaller than the window's slide/,
  ],
  ['TumblingEventTimeWindows.of', () => TumblingEventTimeWindows.of('1s', '5s'), 'FLOE_WINDOW_OFFSET', /smaller than the window's size/],
];

for (const [name, call, code, problem] of cases) {
  t.test(`${name}: ${code}`, async (t) => {
    const error = (() => {
      try {
        call();
      } catch (e) {
        return e as { code?: string; message: string; hint?: string };
      }
      return null;
    })();
    t.equal(error?.code, code);
    t.ok(error?.message.startsWith(`${name}: `), `names the assigner: ${error?.message}`);
    t.match(error?.message, problem, 'names the setting and its value');
    if (code !== 'FLOE_WINDOW_OFFSET')
      t.match(error?.hint, new RegExp(`^e\\.g\\. ${name.replace('.', '\\.')}\\(`), `an example of ${name}: ${error?.hint}`);
  });
}
