// Restart strategies: after a job failure, how long to wait before restarting, or whether to give up (Flink's RestartBackoffTimeStrategy).
import type { Configuration, RestartStrategyType } from '../config/configuration.ts';
import { formatDuration } from '../config/duration.ts';
import { ConfigError } from '../errors.ts';

/** What one failure decides: the delay before restarting (null: give up, the job fails), and the strategy's state after it. */
export interface RestartDecision<S = unknown> {
  delayMs: number | null;
  state: S;
}

export interface RestartStrategy<S = unknown> {
  readonly type: RestartStrategyType;
  readonly description: string; // e.g. "fixed-delay (3 attempts, 1 s delay)"
  /** the state before any failure (plain data: the job master keeps it in its machine's context) */
  readonly initialState: S;
  /** The decision for a failure at `now` (ms) given the state so far; pure (exponential-delay's jitter is drawn from its random source). */
  decide(state: S, now: number): RestartDecision<S>;
  /** decide() with the state kept here, for callers that keep none: records a failure at `now` and returns the delay, or null to give up. */
  onFailure(now: number): number | null;
}

/** The state kept for onFailure(); decide() is each strategy's own. */
abstract class Strategy<S> implements RestartStrategy<S> {
  abstract readonly type: RestartStrategyType;
  abstract readonly description: string;
  abstract readonly initialState: S;
  #state: S | undefined;

  abstract decide(state: S, now: number): RestartDecision<S>;

  onFailure(now: number): number | null {
    const { delayMs, state } = this.decide(this.#state ?? this.initialState, now);
    this.#state = state;
    return delayMs;
  }
}

/** Fails the job on its first failure. */
export class NoRestart extends Strategy<null> {
  readonly type = 'none';
  readonly description = 'none (the job fails on its first failure)';
  readonly initialState = null;

  decide(): RestartDecision<null> {
    return { delayMs: null, state: null };
  }
}

/** Restarts `attempts` times, each after `delayMs`; the next failure fails the job. */
export class FixedDelayRestart extends Strategy<{ failures: number }> {
  readonly type = 'fixed-delay';
  readonly description: string;
  readonly initialState = { failures: 0 };

  constructor(
    readonly attempts: number,
    readonly delayMs: number,
  ) {
    super();
    this.description = `fixed-delay (${plural(attempts, 'attempt')}, ${formatDuration(delayMs)} delay)`;
  }

  decide({ failures }: { failures: number }): RestartDecision<{ failures: number }> {
    const state = { failures: failures + 1 };
    return { delayMs: state.failures <= this.attempts ? this.delayMs : null, state };
  }
}

/** Restarts after `delayMs` unless more than `maxFailures` failures fall within a sliding `intervalMs`. */
export class FailureRateRestart extends Strategy<{ failures: readonly number[] }> {
  readonly type = 'failure-rate';
  readonly description: string;
  // The last maxFailures + 1 failure times: enough to tell whether one too many fell in the window.
  readonly initialState = { failures: [] as readonly number[] };

  constructor(
    readonly maxFailures: number,
    readonly intervalMs: number,
    readonly delayMs: number,
  ) {
    super();
    this.description = `failure-rate (at most ${plural(maxFailures, 'failure')} per ${formatDuration(intervalMs)}, ${formatDuration(delayMs)} delay)`;
  }

  decide({ failures }: { failures: readonly number[] }, now: number): RestartDecision<{ failures: readonly number[] }> {
    const kept = [...failures, now].slice(-(this.maxFailures + 1));
    const tooMany = kept.length > this.maxFailures && now - kept[0]! <= this.intervalMs;
    return { delayMs: tooMany ? null : this.delayMs, state: { failures: kept } };
  }
}

export interface ExponentialDelayOptions {
  initialBackoffMs: number;
  maxBackoffMs: number;
  multiplier: number;
  resetThresholdMs: number;
  jitterFactor: number;
  /** restarts allowed between resets; one more failure fails the job */
  attemptsBeforeReset: number;
}

interface ExponentialState {
  /** restarts since the last reset */
  attempt: number;
  nextRestartAt: number;
}

/**
 * Waits initial × multiplier^n (n = restarts since the last reset), capped at the maximum, spread by
 * ±jitter; running for the reset threshold after a restart starts over from the initial backoff.
 * As Flink since 1.19 (FLIP-364).
 */
export class ExponentialDelayRestart extends Strategy<ExponentialState> {
  readonly type = 'exponential-delay';
  readonly description: string;
  readonly initialState: ExponentialState = { attempt: 0, nextRestartAt: Number.NEGATIVE_INFINITY };
  readonly #random: () => number;

  constructor(
    readonly options: ExponentialDelayOptions,
    random: () => number = Math.random,
  ) {
    super();
    this.#random = random;
    const o = options;
    const attempts = o.attemptsBeforeReset >= Number.MAX_SAFE_INTEGER ? '' : `, ${plural(o.attemptsBeforeReset, 'attempt')} before reset`;
    this.description = `exponential-delay (${formatDuration(o.initialBackoffMs)} initial backoff, x${o.multiplier} up to ${formatDuration(o.maxBackoffMs)}, jitter ${o.jitterFactor}, reset after ${formatDuration(o.resetThresholdMs)}${attempts})`;
  }

  decide(state: ExponentialState, now: number): RestartDecision<ExponentialState> {
    // A failure before the scheduled restart is part of the same incident: no new attempt.
    // (Flink merges at `<=`; a job restarting and failing within one millisecond should count.)
    if (now < state.nextRestartAt) return { delayMs: state.nextRestartAt - now, state };
    // Measured from the restart, not from the failure: how long the job has been running again.
    const attempt = now - state.nextRestartAt >= this.options.resetThresholdMs ? 0 : state.attempt;
    if (attempt + 1 > this.options.attemptsBeforeReset) return { delayMs: null, state: { ...state, attempt } };
    const delay = this.#backoff(attempt);
    return { delayMs: delay, state: { attempt: attempt + 1, nextRestartAt: now + delay } };
  }

  #backoff(attempt: number): number {
    const { initialBackoffMs, maxBackoffMs, multiplier, jitterFactor } = this.options;
    // Capped before flooring so that a huge attempt count cannot overflow to Infinity.
    const backoff = Math.floor(Math.min(initialBackoffMs * multiplier ** attempt, Number.MAX_SAFE_INTEGER / 4));
    const offset = Math.floor(backoff * jitterFactor);
    // A whole number in [-offset, offset], as Flink's nextLong(-offset, offset + 1).
    const jitter = offset === 0 ? 0 : Math.min(offset, Math.floor(this.#random() * (2 * offset + 1)) - offset);
    return Math.max(initialBackoffMs, Math.min(backoff + jitter, maxBackoffMs));
  }
}

/** The strategy `restart-strategy.type` names, with its options; `random` drives exponential-delay's jitter. */
export function restartStrategyFrom(conf: Configuration, random: () => number = Math.random): RestartStrategy {
  switch (conf.get('restart-strategy.type')) {
    case 'none':
      return new NoRestart();
    case 'fixed-delay':
      return new FixedDelayRestart(conf.get('restart-strategy.fixed-delay.attempts'), conf.get('restart-strategy.fixed-delay.delay'));
    case 'failure-rate':
      return new FailureRateRestart(
        conf.get('restart-strategy.failure-rate.max-failures-per-interval'),
        conf.get('restart-strategy.failure-rate.failure-rate-interval'),
        conf.get('restart-strategy.failure-rate.delay'),
      );
    case 'exponential-delay': {
      const initial = conf.get('restart-strategy.exponential-delay.initial-backoff');
      const max = conf.get('restart-strategy.exponential-delay.max-backoff');
      if (initial > max) {
        throw new ConfigError(
          'FLOE_CONFIG_BAD_VALUE',
          `restart-strategy.exponential-delay.initial-backoff (${formatDuration(initial)}) is larger than restart-strategy.exponential-delay.max-backoff (${formatDuration(max)})`,
          { hint: 'lower the initial backoff or raise the maximum backoff' },
        );
      }
      return new ExponentialDelayRestart(
        {
          initialBackoffMs: initial,
          maxBackoffMs: max,
          multiplier: conf.get('restart-strategy.exponential-delay.backoff-multiplier'),
          resetThresholdMs: conf.get('restart-strategy.exponential-delay.reset-backoff-threshold'),
          jitterFactor: conf.get('restart-strategy.exponential-delay.jitter-factor'),
          attemptsBeforeReset: conf.get('restart-strategy.exponential-delay.attempts-before-reset-backoff'),
        },
        random,
      );
    }
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
