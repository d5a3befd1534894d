// The configuration: Flink's keys, validated when set, read back typed and with their defaults.
import { ConfigError } from '../errors.ts';
import {
  CONFIG_KEYS,
  CONFIG_OPTIONS,
  canonicalKey,
  type ConfigKey,
  type ConfigOption,
  type ConfigReader,
  type ConfigValues,
} from './config-options.ts';
import { BadOptionValue, parseOptionValue } from './option-value.ts';
import { suggestKey } from './suggest-key.ts';

export type { CheckpointingMode, ConfigKey, ConfigValues, RestartStrategyType, StateBackendType } from './config-options.ts';

export class Configuration implements ConfigReader {
  // Only explicit values, already parsed; defaults are computed on read so they follow other keys.
  readonly #values = new Map<ConfigKey, unknown>();

  constructor(entries: Record<string, unknown> = {}) {
    for (const [key, value] of Object.entries(entries)) this.set(key, value);
  }

  /**
   * Sets `key` (or one of its aliases) from a string (YAML, -D, CLI) or a typed value (API);
   * `undefined` or `null` unsets it. Unknown keys and bad values throw a ConfigError.
   */
  set(key: string, value: unknown): this {
    const canonical = knownKey(key);
    if (value === undefined || value === null) this.#values.delete(canonical);
    else this.#values.set(canonical, parse(key, CONFIG_OPTIONS[canonical] as ConfigOption<unknown>, value));
    return this;
  }

  /** The value of `key`: the one set, else its default (undefined for options without one). */
  get<K extends ConfigKey>(key: K): ConfigValues[K] {
    const canonical = knownKey(key) as K;
    if (this.#values.has(canonical)) return this.#values.get(canonical) as ConfigValues[K];
    const fallback = (CONFIG_OPTIONS[canonical] as ConfigOption<ConfigValues[K]>).default;
    return typeof fallback === 'function' ? (fallback as (conf: ConfigReader) => ConfigValues[K])(this) : (fallback as ConfigValues[K]);
  }

  /** Whether `key` was set explicitly (a default does not count). */
  has(key: string): boolean {
    return this.#values.has(knownKey(key));
  }

  /** A new configuration with this one's values overridden by `other`'s. */
  merge(other: Configuration): Configuration {
    const merged = new Configuration();
    for (const [key, value] of [...this.#values, ...other.#values]) merged.#values.set(key, value);
    return merged;
  }

  /** The explicit values, parsed, under their canonical keys. */
  entries(): Array<[ConfigKey, unknown]> {
    return [...this.#values];
  }

  /** The explicit values as a plain object (it round-trips through the constructor); with defaults on request. */
  toObject(options: { withDefaults?: boolean } = {}): Record<string, unknown> {
    if (!options.withDefaults) return Object.fromEntries(this.#values);
    const all: Record<string, unknown> = {};
    for (const key of CONFIG_KEYS) {
      const value = this.get(key);
      if (value !== undefined) all[key] = value;
    }
    return all;
  }
}

/** Splits a `-D key=value` property at its first '='. */
export function parseDynamicProperty(text: string): [string, string] {
  const at = text.indexOf('=');
  const key = at < 0 ? '' : text.slice(0, at).trim();
  if (key === '') {
    throw new ConfigError('FLOE_CONFIG_BAD_PROPERTY', `bad property '${text}': expected key=value`, {
      hint: 'write -D key=value, e.g. -D execution.checkpointing.interval=10s',
    });
  }
  return [key, text.slice(at + 1).trim()];
}

function knownKey(key: string): ConfigKey {
  const canonical = canonicalKey(key);
  if (canonical !== undefined) return canonical;
  const suggestion = suggestKey(key, CONFIG_KEYS);
  throw new ConfigError(
    'FLOE_CONFIG_UNKNOWN_KEY',
    `unknown configuration key '${key}'${suggestion ? `; did you mean '${suggestion}'?` : ''}`,
    {
      hint: suggestion
        ? `replace '${key}' with '${suggestion}'`
        : "floe takes Flink's key names, e.g. execution.checkpointing.interval, state.backend.type, restart-strategy.type",
    },
  );
}

function parse(key: string, option: ConfigOption<unknown>, value: unknown): unknown {
  try {
    return parseOptionValue(option, value);
  } catch (error) {
    /* c8 ignore next */
    if (!(error instanceof BadOptionValue)) throw error;
    const detail = error.detail === undefined ? '' : ` (${error.detail})`;
    throw new ConfigError('FLOE_CONFIG_BAD_VALUE', `bad value ${show(value)} for '${key}': expected ${error.expected}${detail}`, {
      cause: error,
      hint: option.hint ?? `${key}: ${option.description}`,
    });
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      /* c8 ignore next */
      return String(value);
    }
  }
  return String(value);
}
