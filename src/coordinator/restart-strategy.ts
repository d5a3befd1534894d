// Restart strategies: after a job failure, how long to wait before restarting, or whether to give up (Flink's RestartBackoffTimeStrategy).
import type { Configuration, RestartStrategyType } from '../config/configuration.ts';
import { formatDuration } from '../config/duration.ts';
import { ConfigError } from '../errors.ts';

export interface RestartStrategy {
  readonly type: RestartStrategyType;
  readonly description: string; // e.g. "fixed-delay (3 attempts, 1 s delay)"
  /** Records a failure at `now` (ms) and returns the delay before restarting, or null to give up. */
  onFailure(now: number): number | null;
}

/** Fails the job on its first failure. */
export class NoRestart implements RestartStrategy {
  readonly type = 'none';
  readonly description = 'none (the job fails on its first failure)';
  onFailure(): null {
    return null;
  }
}

/** Restarts `attempts` times, each after `delayMs`; the next failure fails the job. */
export class FixedDelayRestart implements RestartStrategy {
  readonly type = 'fixed-delay';
  readonly description: string;
  #failures = 0;

  constructor(readonly attempts: number, readonly delayMs: number) {
    this.description = `fixed-delay (${plural(attempts, 'attempt')}, ${formatDuration(delayMs)} delay)`;
  }

  onFailure(): number | null {
    this.#failures++;
    return this.#failures <= this.attempts ? this.delayMs : null;
  }
}

/** Restarts after `delayMs` unless more than `maxFailures` failures fall within a sliding `intervalMs`. */
export class FailureRateRestart implements RestartStrategy {
  readonly type = 'failure-rate';
  readonly description: string;
  // The last maxFailures + 1 failure times: enough to tell whether one too many fell in the window.
  readonly #failures: number[] = [];

  constructor(readonly maxFailures: number, readonly intervalMs: number, readonly delayMs: number) {
    this.description = `failure-rate (at most ${plural(maxFailures, 'failure')} per ${formatDuration(intervalMs)}, ${formatDuration(delayMs)} delay)`;
  }

  onFailure(now: number): number | null {
    this.#failures.push(now);
    if (this.#failures.length > this.maxFailures + 1) this.#failures.shift();
    const tooMany = this.#failures.length > this.maxFailures && now - this.#failures[0]! <= this.intervalMs;
    return tooMany ? null : this.delayMs;
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

/**
 * Waits initial × multiplier^n (n = restarts since the last reset), capped at the maximum, spread by
 * ±jitter; running for the reset threshold after a restart starts over from the initial backoff.
 * As Flink since 1.19 (FLIP-364).
 */
export class ExponentialDelayRestart implements RestartStrategy {
  readonly type = 'exponential-delay';
  readonly description: string;
  #attempt = 0;
  #nextRestartAt = -Infinity;
  readonly #random: () => number;

  constructor(readonly options: ExponentialDelayOptions, random: () => number = Math.random) {
    this.#random = random;
    const o = options;
    const attempts = o.attemptsBeforeReset >= Number.MAX_SAFE_INTEGER ? '' : `, ${plural(o.attemptsBeforeReset, 'attempt')} before reset`;
    this.description = `exponential-delay (${formatDuration(o.initialBackoffMs)} initial backoff, x${o.multiplier} up to ${formatDuration(o.maxBackoffMs)}, jitter ${o.jitterFactor}, reset after ${formatDuration(o.resetThresholdMs)}${attempts})`;
  }

  onFailure(now: number): number | null {
    // A failure before the scheduled restart is part of the same incident: no new attempt.
    // (Flink merges at `<=`; a job restarting and failing within one millisecond should count.)
    if (now < this.#nextRestartAt) return this.#nextRestartAt - now;
    // Measured from the restart, not from the failure: how long the job has been running again.
    if (now - this.#nextRestartAt >= this.options.resetThresholdMs) this.#attempt = 0;
    if (this.#attempt + 1 > this.options.attemptsBeforeReset) return null;
    const delay = this.#backoff(this.#attempt);
    this.#attempt++;
    this.#nextRestartAt = now + delay;
    return delay;
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
      return new ExponentialDelayRestart({
        initialBackoffMs: initial,
        maxBackoffMs: max,
        multiplier: conf.get('restart-strategy.exponential-delay.backoff-multiplier'),
        resetThresholdMs: conf.get('restart-strategy.exponential-delay.reset-backoff-threshold'),
        jitterFactor: conf.get('restart-strategy.exponential-delay.jitter-factor'),
        attemptsBeforeReset: conf.get('restart-strategy.exponential-delay.attempts-before-reset-backoff'),
      }, random);
    }
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
