// An alignment-benchmark scenario: an actor graph described in YAML (sources, operators, edges, backpressure, buffers).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { parseDuration } from '../config/duration.ts';
import { ConfigError } from '../errors.ts';

export type EdgeType = 'forward' | 'hash' | 'rebalance' | 'broadcast';

export interface SourceSpec {
  id: string;
  parallelism: number;
  /** records per second over all subtasks; 0 = as fast as the job takes them */
  rate: number;
  /** distinct keys */
  keys: number;
  /** Zipf exponent of the key distribution: 0 uniform, 1 and above strongly skewed */
  skew: number;
  /** bytes of payload per record */
  payloadBytes: number;
}

export interface OperatorSpec {
  id: string;
  /** one input, or two for a join (left, right) */
  inputs: string[];
  type: 'map' | 'join';
  edge: EdgeType;
  parallelism: number;
  /** CPU per record, microseconds */
  costUs: number;
  /** output records per input record (0.5 drops half, 2 doubles) */
  selectivity: number;
  /** keyed state per key, bytes (hash edges only) */
  stateBytes: number;
  /** one subtask that is busy `delayMs` after every batch it reads: backpressure upstream */
  slow?: { subtask: number; delayMs: number };
}

export interface Scenario {
  name: string;
  description: string;
  sources: SourceSpec[];
  operators: OperatorSpec[];
  checkpointIntervalMs: number;
  buffersPerChannel: number;
  batchSize: number;
  /** the aligned-timeout mode's timeout */
  alignedTimeoutMs: number;
}

const fail = (file: string, message: string): never => {
  throw new ConfigError('FLOE_BENCH_SCENARIO_INVALID', `${file}: ${message}`, { hint: 'see bench/scenarios/*.yaml for the format' });
};

type Raw = Record<string, unknown>;

function num(file: string, where: string, value: unknown, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min)
    fail(file, `${where} must be a number >= ${min}, got ${JSON.stringify(value)}`);
  return n as number;
}

function duration(file: string, where: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(String(value));
  } catch {
    return fail(file, `${where} must be a duration like 200ms or 1s, got ${JSON.stringify(value)}`);
  }
}

/** Validates a parsed scenario; every problem names the file and the field. */
export function scenarioFrom(raw: unknown, file = 'scenario'): Scenario {
  if (!raw || typeof raw !== 'object') fail(file, 'not a YAML mapping');
  const r = raw as Raw;
  const ids = new Set<string>();
  const id = (where: string, v: unknown): string => {
    if (typeof v !== 'string' || !v) fail(file, `${where}.id must be a non-empty string`);
    if (ids.has(v as string)) fail(file, `id '${v}' is used twice`);
    ids.add(v as string);
    return v as string;
  };
  const sources = ((r.sources as Raw[] | undefined) ?? []).map((s, i): SourceSpec => ({
    id: id(`sources[${i}]`, s.id),
    parallelism: num(file, `sources[${i}].parallelism`, s.parallelism, 1, 1),
    rate: num(file, `sources[${i}].rate`, s.rate, 0),
    keys: num(file, `sources[${i}].keys`, s.keys, 1000, 1),
    skew: num(file, `sources[${i}].skew`, s.skew, 0),
    payloadBytes: num(file, `sources[${i}].payloadBytes`, s.payloadBytes, 16),
  }));
  if (sources.length === 0) fail(file, 'needs at least one source');
  const operators = ((r.operators as Raw[] | undefined) ?? []).map((o, i): OperatorSpec => {
    const where = `operators[${i}]`;
    const inputs = Array.isArray(o.inputs) ? (o.inputs as string[]) : o.input !== undefined ? [o.input as string] : [];
    for (const input of inputs) if (!ids.has(input)) fail(file, `${where} reads '${input}', which is not defined above it`);
    const type = (o.type ?? (inputs.length === 2 ? 'join' : 'map')) as OperatorSpec['type'];
    if (type !== 'map' && type !== 'join') fail(file, `${where}.type must be map or join`);
    if (inputs.length !== (type === 'join' ? 2 : 1))
      fail(file, `${where}: a ${type} reads ${type === 'join' ? 'two inputs (inputs: [left, right])' : 'one input'}`);
    const edge = (o.edge ?? (type === 'join' ? 'hash' : 'forward')) as EdgeType;
    if (!['forward', 'hash', 'rebalance', 'broadcast'].includes(edge))
      fail(file, `${where}.edge must be forward, hash, rebalance or broadcast`);
    if (type === 'join' && edge !== 'hash') fail(file, `${where}: a join reads its inputs by key (edge: hash)`);
    const slow = o.slow as Raw | undefined;
    const spec: OperatorSpec = {
      id: id(where, o.id),
      inputs,
      type,
      edge,
      parallelism: num(file, `${where}.parallelism`, o.parallelism, 1, 1),
      costUs: num(file, `${where}.costUs`, o.costUs, 0),
      selectivity: num(file, `${where}.selectivity`, o.selectivity, 1),
      stateBytes: num(file, `${where}.stateBytes`, o.stateBytes, 0),
      ...(slow
        ? {
            slow: {
              subtask: num(file, `${where}.slow.subtask`, slow.subtask, 0),
              delayMs: duration(file, `${where}.slow.delay`, slow.delay, 10),
            },
          }
        : {}),
    };
    if (spec.slow && spec.slow.subtask >= spec.parallelism)
      fail(file, `${where}.slow.subtask ${spec.slow.subtask} is not below its parallelism ${spec.parallelism}`);
    return spec;
  });
  if (operators.length === 0) fail(file, 'needs at least one operator');
  const checkpoint = (r.checkpoint as Raw | undefined) ?? {};
  const network = (r.network as Raw | undefined) ?? {};
  return {
    name: typeof r.name === 'string' ? r.name : file.replace(/^.*\//, '').replace(/\.ya?ml$/, ''),
    description: typeof r.description === 'string' ? r.description : '',
    sources,
    operators,
    checkpointIntervalMs: duration(file, 'checkpoint.interval', checkpoint.interval, 200),
    alignedTimeoutMs: duration(file, 'checkpoint.alignedTimeout', checkpoint.alignedTimeout, 10),
    buffersPerChannel: num(file, 'network.buffersPerChannel', network.buffersPerChannel, 4, 1),
    batchSize: num(file, 'network.batchSize', network.batchSize, 64, 1),
  };
}

export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('FLOE_BENCH_SCENARIO_NOT_FOUND', `cannot read scenario ${path}`, {
      cause,
      hint: 'pass a YAML file, e.g. bench/scenarios/backpressure.yaml',
    });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (cause) {
    return fail(path, `not valid YAML (${(cause as Error).message})`);
  }
  return scenarioFrom(raw, path);
}
