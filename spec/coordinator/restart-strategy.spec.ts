// Restart strategies as scripts of failures on a fake clock: the delays they answer and when they give up.
import t from 'tap';
import { Configuration } from '../../src/config/configuration.ts';
import { ConfigError } from '../../src/errors.ts';
import { restartStrategyFrom, type RestartStrategy } from '../../src/coordinator/restart-strategy.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Feeds failures at the given times and returns each answer. */
function failAt(strategy: RestartStrategy, times: number[]): Array<number | null> {
  return times.map((now) => strategy.onFailure(now));
}

/** Fails again as soon as each restart happens (plus `runFor` ms of running), until it gives up or `limit` failures. */
function failRepeatedly(strategy: RestartStrategy, limit: number, runFor = 0): Array<number | null> {
  const answers: Array<number | null> = [];
  let now = 0;
  for (let i = 0; i < limit; i++) {
    const delay = strategy.onFailure(now);
    answers.push(delay);
    if (delay === null) break;
    now += delay + runFor;
  }
  return answers;
}

const strategy = (entries: Record<string, unknown>, random?: () => number) => restartStrategyFrom(new Configuration(entries), random);
const noJitter = () => 0.5;

t.test('the default: none without checkpointing, exponential-delay with it', async (t) => {
  const none = strategy({});
  t.equal(none.type, 'none');
  t.match(none.description, /^none/);
  t.same(failAt(none, [0, 10 * MINUTE]), [null, null]);

  const withCheckpoints = strategy({ 'execution.checkpointing.interval': '10s' }, noJitter);
  t.equal(withCheckpoints.type, 'exponential-delay');
  t.equal(withCheckpoints.onFailure(0), SECOND);
});

t.test('fixed-delay: the given attempts, then give up', async (t) => {
  const fixed = strategy({
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 3,
    'restart-strategy.fixed-delay.delay': '2 s',
  });
  t.equal(fixed.description, 'fixed-delay (3 attempts, 2 s delay)');
  t.same(failRepeatedly(fixed, 10), [2000, 2000, 2000, null]);
  t.equal(fixed.onFailure(HOUR), null, 'stays given up');

  t.same(failRepeatedly(strategy({ 'restart-strategy.type': 'fixed-delay' }), 10), [SECOND, null], 'defaults: 1 attempt, 1 s');
  t.equal(strategy({ 'restart-strategy.type': 'fixed-delay' }).description, 'fixed-delay (1 attempt, 1 s delay)');
  t.same(
    failRepeatedly(strategy({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 0 }), 10),
    [null],
    '0 attempts: no restart',
  );
});

t.test('failure-rate: more than the maximum within the sliding interval gives up', async (t) => {
  const rate = () =>
    strategy({
      'restart-strategy.type': 'failure-rate',
      'restart-strategy.failure-rate.max-failures-per-interval': 2,
      'restart-strategy.failure-rate.failure-rate-interval': '1 min',
      'restart-strategy.failure-rate.delay': '5 s',
    });
  t.equal(rate().description, 'failure-rate (at most 2 failures per 1 min, 5 s delay)');
  t.same(failAt(rate(), [0, 10 * SECOND, 20 * SECOND]), [5000, 5000, null], 'a third failure within a minute');
  t.same(
    failAt(rate(), [0, 30 * SECOND, 61 * SECOND, 91 * SECOND]),
    [5000, 5000, 5000, 5000],
    'the window slides: the oldest failure leaves it',
  );
  t.same(failAt(rate(), [0, 30 * SECOND, 60 * SECOND]), [5000, 5000, null], 'the interval is inclusive, as in Flink');
  t.same(failAt(rate(), [0, 2 * MINUTE, 2 * MINUTE + 1, 2 * MINUTE + 2]), [5000, 5000, 5000, null]);

  const defaults = strategy({ 'restart-strategy.type': 'failure-rate' });
  t.same(failAt(defaults, [0, 61 * SECOND, 62 * SECOND]), [SECOND, SECOND, null], 'defaults: 1 failure per minute, 1 s');
});

t.test('exponential-delay: multiplies up to the maximum', async (t) => {
  const exp = strategy({
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.initial-backoff': '1 s',
    'restart-strategy.exponential-delay.max-backoff': '10 s',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'restart-strategy.exponential-delay.jitter-factor': 0,
  });
  t.equal(exp.description, 'exponential-delay (1 s initial backoff, x2 up to 10 s, jitter 0, reset after 1 h)');
  t.same(failRepeatedly(exp, 7, 5 * SECOND), [1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);

  const defaults = strategy({ 'restart-strategy.type': 'exponential-delay' }, noJitter);
  t.same(
    failRepeatedly(defaults, 13),
    [1000, 1500, 2250, 3375, 5062, 7593, 11_390, 17_085, 25_628, 38_443, 57_665, 60_000, 60_000],
    'defaults: x1.5 up to 1 min',
  );
});

t.test('exponential-delay: jitter spreads each backoff by up to ± factor', async (t) => {
  const base = {
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'restart-strategy.exponential-delay.jitter-factor': 0.25,
  };
  t.same(
    failRepeatedly(
      strategy(base, () => 0),
      3,
    ),
    [1000, 1500, 3000],
    'lowest: -25%, never below the initial backoff',
  );
  t.same(
    failRepeatedly(
      strategy(base, () => 0.999_999),
      3,
    ),
    [1250, 2500, 5000],
    'highest: +25%',
  );
  t.same(failRepeatedly(strategy(base, noJitter), 3), [1000, 2000, 4000], 'middle: none');
  const capped = strategy({ ...base, 'restart-strategy.exponential-delay.max-backoff': '3 s' }, () => 0.999_999);
  t.same(failRepeatedly(capped, 4), [1250, 2500, 3000, 3000], 'never above the maximum');
});

t.test('exponential-delay: running for the threshold after a restart resets the backoff', async (t) => {
  const exp = strategy({
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'restart-strategy.exponential-delay.jitter-factor': 0,
    'restart-strategy.exponential-delay.reset-backoff-threshold': '10 min',
  });
  t.equal(exp.onFailure(0), 1000);
  t.equal(exp.onFailure(1000 + 9 * MINUTE), 2000, 'ran 9 min: keeps growing');
  const restartedAt = 1000 + 9 * MINUTE + 2000;
  t.equal(exp.onFailure(restartedAt + 10 * MINUTE), 1000, 'ran 10 min since the restart: back to the initial backoff');
  t.equal(exp.onFailure(restartedAt + 10 * MINUTE + 1000), 2000);
});

t.test('exponential-delay: a failure before the restart joins the pending one', async (t) => {
  const exp = strategy({
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'restart-strategy.exponential-delay.jitter-factor': 0,
  });
  t.equal(exp.onFailure(0), 1000);
  t.equal(exp.onFailure(400), 600, 'the remaining wait, not a new attempt');
  t.equal(exp.onFailure(1000), 2000, 'after the restart: the next attempt');
});

t.test('exponential-delay: gives up after attempts-before-reset-backoff restarts, until a reset', async (t) => {
  const exp = strategy({
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'restart-strategy.exponential-delay.jitter-factor': 0,
    'restart-strategy.exponential-delay.attempts-before-reset-backoff': 3,
    'restart-strategy.exponential-delay.reset-backoff-threshold': '1 h',
  });
  t.match(exp.description, /3 attempts before reset/);
  t.same(failRepeatedly(exp, 10, SECOND), [1000, 2000, 4000, null]);
  t.same(failAt(exp, [2 * HOUR, 2 * HOUR + 1001]), [1000, 2000], 'an hour of running later it restarts again');
});

t.test('exponential-delay: an initial backoff above the maximum is a configuration error', async (t) => {
  const error = t.throws(() =>
    strategy({
      'restart-strategy.type': 'exponential-delay',
      'restart-strategy.exponential-delay.initial-backoff': '2 min',
    }),
  ) as ConfigError;
  t.type(error, ConfigError);
  t.equal(error.code, 'FLOE_CONFIG_BAD_VALUE');
  t.match(error.message, /initial-backoff \(2 min\).*max-backoff \(1 min\)/);
});
