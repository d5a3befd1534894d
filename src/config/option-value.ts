// Turning one raw value (a string from YAML, -D or the CLI, or a typed JS value) into an option's value.
import type { ConfigOption } from './config-options.ts';
import { formatDuration, formatMemorySize, parseDuration, parseMemorySize } from './duration.ts';

/** Why a value was rejected: `expected` completes "expected ...", `detail` says what was wrong with it. */
export class BadOptionValue extends Error {
  readonly expected: string;
  readonly detail?: string;
  constructor(expected: string, detail?: string) {
    super(detail === undefined ? `expected ${expected}` : `expected ${expected} (${detail})`);
    this.expected = expected;
    this.detail = detail;
  }
}

/** Parses and normalizes `raw` for `option`, or throws a BadOptionValue. */
export function parseOptionValue<T>(option: ConfigOption<T>, raw: unknown): T {
  const value = parseByType(option, raw);
  if (typeof value === 'number') checkRange(option, value);
  return value as T;
}

/** Words for what an option accepts, for error messages and help. */
export function describeExpected(option: ConfigOption<unknown>): string {
  switch (option.type) {
    case 'int':
      return `an integer${numericRange(option)}`;
    case 'number':
      return `a number${numericRange(option)}`;
    case 'boolean':
      return 'true or false';
    case 'duration':
      return `a duration such as 500ms, 1s or 2 min${unitRange(option, formatDuration)}`;
    case 'memory':
      return `a memory size such as 512kb, 5mb or 1 gib${unitRange(option, formatMemorySize)}`;
    case 'enum':
      return `one of ${[...new Set(Object.values(option.values ?? {}))].join(', ')}`;
    case 'string':
      return 'a non-empty string';
  }
}

function parseByType(option: ConfigOption<unknown>, raw: unknown): unknown {
  const expected = describeExpected(option);
  switch (option.type) {
    case 'int': {
      const n = toNumber(raw);
      if (n === undefined || !Number.isSafeInteger(n)) throw new BadOptionValue(expected);
      return n;
    }
    case 'number': {
      const n = toNumber(raw);
      if (n === undefined) throw new BadOptionValue(expected);
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      if (text === 'true' || text === 'false') return text === 'true';
      throw new BadOptionValue(expected);
    }
    case 'duration':
    case 'memory': {
      if (typeof raw !== 'string' && typeof raw !== 'number') throw new BadOptionValue(expected);
      try {
        return option.type === 'duration' ? parseDuration(raw) : parseMemorySize(raw);
      } catch (error) {
        throw new BadOptionValue(expected, (error as Error).message);
      }
    }
    case 'enum': {
      const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      if (text === undefined || !Object.hasOwn(option.values ?? {}, text)) throw new BadOptionValue(expected);
      return option.values![text];
    }
    case 'string': {
      // YAML reads `dir: 2024` as a number; a string option takes it as text.
      const text = typeof raw === 'number' && Number.isFinite(raw) ? String(raw) : raw;
      if (typeof text !== 'string' || text.trim() === '') throw new BadOptionValue(expected);
      return text.trim();
    }
  }
}

const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  // Decimal notation only: Number() alone would also take '0x10', '' and 'Infinity'.
  if (typeof raw !== 'string' || !DECIMAL.test(raw)) return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) ? n : undefined;
}

function checkRange(option: ConfigOption<unknown>, value: number): void {
  const tooSmall = option.min !== undefined && value < option.min;
  const tooLarge = option.max !== undefined && value > option.max;
  if (tooSmall || tooLarge) throw new BadOptionValue(describeExpected(option));
}

function numericRange({ min, max }: ConfigOption<unknown>): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  return max !== undefined ? ` <= ${max}` : '';
}

function unitRange({ min, max }: ConfigOption<unknown>, format: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return ` (from ${format(min)} to ${format(max)})`;
  // 0 goes without saying: no duration or size is negative.
  if (min !== undefined && min > 0) return ` (at least ${format(min)})`;
  return max !== undefined ? ` (at most ${format(max)})` : '';
}
