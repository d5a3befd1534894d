// Durations and memory sizes written the way Flink's configuration writes them ("1 min", "5 mb").

const DURATION_UNITS: ReadonlyMap<string, number> = unitTable([
  [1, ['ms', 'milli', 'millis', 'millisecond', 'milliseconds']],
  [1000, ['s', 'sec', 'secs', 'second', 'seconds']],
  [60_000, ['m', 'min', 'mins', 'minute', 'minutes']],
  [3_600_000, ['h', 'hour', 'hours']],
  [86_400_000, ['d', 'day', 'days']],
]);

const MEMORY_UNITS: ReadonlyMap<string, number> = unitTable([
  [1, ['b', 'byte', 'bytes']],
  [1024, ['k', 'kb', 'kib', 'kibibyte', 'kibibytes']],
  [1024 ** 2, ['m', 'mb', 'mib', 'mebibyte', 'mebibytes']],
  [1024 ** 3, ['g', 'gb', 'gib', 'gibibyte', 'gibibytes']],
  [1024 ** 4, ['t', 'tb', 'tib', 'tebibyte', 'tebibytes']],
]);

// Largest unit first: formatting picks the largest one that divides the value exactly.
const DURATION_LABELS: ReadonlyArray<[number, string]> = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
  [1, 'ms'],
];
const MEMORY_LABELS: ReadonlyArray<[number, string]> = [
  [1024 ** 4, 'TiB'],
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
  [1, 'bytes'],
];

const QUANTITY = /^\s*(\d+)(?:\.(\d+))?\s*([a-z]*)\s*$/i;

/** Parses `500`, `'500'`, `'100ms'`, `'1.5 s'`, `'2 min'`, `'1 h'`, `'1d'` to milliseconds; throws an Error otherwise. */
export function parseDuration(value: string | number): number {
  return parseQuantity(value, DURATION_UNITS, 'ms', 'duration');
}

/** Parses `1024`, `'20 kb'`, `'5mb'`, `'5 MiB'`, `'1g'` to bytes (1024-based, as Flink); throws an Error otherwise. */
export function parseMemorySize(value: string | number): number {
  return parseQuantity(value, MEMORY_UNITS, 'b', 'memory size');
}

/** `60000` → `'1 min'`, `1500` → `'1500 ms'`: the largest unit that loses nothing, so it parses back. */
export function formatDuration(ms: number): string {
  return formatQuantity(ms, DURATION_LABELS);
}

/** `5242880` → `'5 MiB'`, `1536` → `'1536 bytes'`. */
export function formatMemorySize(bytes: number): string {
  return formatQuantity(bytes, MEMORY_LABELS);
}

function parseQuantity(value: string | number, units: ReadonlyMap<string, number>, defaultUnit: string, what: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new Error(
      `${value} is not a ${what}: a number must be a whole, non-negative count of ${defaultUnit === 'ms' ? 'milliseconds' : 'bytes'}`,
    );
  }
  const match = QUANTITY.exec(value);
  if (!match) throw new Error(`'${value}' is not a ${what}`);
  const [, whole, fraction = '', unitText] = match;
  const unit = units.get(unitText!.toLowerCase() || defaultUnit);
  if (unit === undefined) throw new Error(`'${value}' is not a ${what}: unknown unit '${unitText}'`);
  // BigInt keeps '1.1 s' exact (1.1 * 1000 is 1100.0000000000002 in floating point).
  const scale = 10n ** BigInt(fraction.length);
  const scaled = BigInt(whole! + fraction) * BigInt(unit);
  if (scaled % scale !== 0n) throw new Error(`'${value}' is not a whole number of ${defaultUnit === 'ms' ? 'milliseconds' : 'bytes'}`);
  const result = scaled / scale;
  if (result > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`'${value}' is too large a ${what}`);
  return Number(result);
}

function formatQuantity(amount: number, labels: ReadonlyArray<[number, string]>): string {
  if (!Number.isFinite(amount) || amount < 0) throw new TypeError(`cannot format ${amount}`);
  if (amount === 0 || !Number.isInteger(amount)) return `${amount} ${labels.at(-1)![1]}`;
  if (amount === 1 && labels === MEMORY_LABELS) return '1 byte';
  const [size, label] = labels.find(([size]) => amount % size === 0)!;
  return `${amount / size} ${label}`;
}

function unitTable(groups: ReadonlyArray<[number, string[]]>): Map<string, number> {
  const table = new Map<string, number>();
  for (const [size, names] of groups) for (const name of names) table.set(name, size);
  return table;
}
