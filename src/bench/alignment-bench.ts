// The alignment benchmark: runs a scenario on the real runtime in each checkpointing mode and measures what barriers cost.
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import type { CheckpointStats } from '../checkpoint/completed-checkpoint.ts';
import { ConfigError } from '../errors.ts';
import { subtaskName } from '../graph/job-graph.ts';
import type { Scenario } from './scenario.ts';
import { buildScenarioJob, RunProbe } from './scenario-job.ts';

import { MODES, type BenchMode } from './bench-modes.ts';

export { MODES, type BenchMode };

export function parseModes(list: string): BenchMode[] {
  const modes = list.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of modes) {
    if (!(MODES as readonly string[]).includes(m)) {
      throw new ConfigError('FLOE_BENCH_UNKNOWN_MODE', `unknown mode '${m}'`, { hint: `modes are ${MODES.join(', ')}` });
    }
  }
  return modes as BenchMode[];
}

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface ModeResult {
  scenario: string;
  mode: BenchMode;
  /** the slow subtask's delay factor (1 = as the scenario says) */
  level: number;
  durationMs: number;
  /** records emitted by the sources per second, measured after warm-up */
  throughput: number;
  checkpoints: { completed: number; failed: number };
  /** trigger to completion, ms */
  checkpointDuration: Percentiles;
  /** first to last barrier at a subtask with inputs, ms (over all such subtasks) */
  alignmentDuration: Percentiles;
  /** per subtask (`vertex name (i/n)`) */
  alignmentBySubtask: Record<string, Percentiles>;
  /** trigger to first barrier at a subtask, ms */
  startDelay: Percentiles;
  /** estimated bytes left queued in blocked channels at the end of an alignment, per checkpoint (sum over subtasks) */
  bytesHeldDuringAlignment: Percentiles;
  /** in-flight data persisted as channel state, bytes per checkpoint (sum over subtasks) */
  inFlightBytesPersisted: Percentiles;
  /** source to sink, ms */
  latency: Percentiles;
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p99: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

function configFor(scenario: Scenario, mode: BenchMode): Record<string, unknown> {
  return {
    'execution.checkpointing.interval': scenario.checkpointIntervalMs,
    'execution.checkpointing.mode': mode === 'at-least-once' ? 'at-least-once' : 'exactly-once',
    'execution.checkpointing.unaligned': mode === 'unaligned',
    'execution.checkpointing.aligned-checkpoint-timeout': mode === 'aligned-timeout' ? scenario.alignedTimeoutMs : 0,
    'execution.checkpointing.timeout': '1 min',
    'execution.checkpointing.tolerable-failed-checkpoints': 1000,
    'taskmanager.network.memory.buffers-per-channel': scenario.buffersPerChannel,
    'taskmanager.network.batch-size': scenario.batchSize,
    'restart-strategy.type': 'none',
  };
}

/** Runs one scenario in one mode for `durationMs` (the first fifth, at most 1 s, is warm-up), then cancels it. */
export async function runMode(scenario: Scenario, mode: BenchMode, options: { durationMs: number; level?: number; onTick?: (elapsedMs: number) => void }): Promise<ModeResult> {
  const level = options.level ?? 1;
  const probe = new RunProbe();
  const env = StreamExecutionEnvironment.getExecutionEnvironment(configFor(scenario, mode));
  buildScenarioJob(env, scenario, probe, level);
  const graph = env.getJobGraph();
  const withInputs = new Set(graph.vertices.filter((v) => v.inputs.length > 0).map((v) => v.id));
  const names = new Map(graph.vertices.map((v) => [v.id, { name: v.chain.map((t) => t.uid).join('+'), parallelism: v.parallelism }]));
  const client = await env.executeAsync(`${scenario.name} (${mode})`);
  const stats: CheckpointStats[] = [];
  let failed = 0;
  const warmupMs = Math.min(1000, options.durationMs / 5);
  let measuring = false;
  let measureStart = 0;
  client.on('checkpoint-completed', (_cp, s) => {
    if (measuring && s && s.triggerTimestamp >= measureStart) stats.push(s);
  });
  client.on('checkpoint-failed', (_id, reason) => {
    // the cancel at the end aborts the checkpoint in progress: not a finding
    if (measuring && !reason.startsWith('job suspended')) failed++;
  });
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      if (!measuring && elapsed >= warmupMs) {
        measuring = true;
        measureStart = Date.now();
        probe.startMeasuring();
      }
      options.onTick?.(elapsed);
      if (elapsed >= options.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
  const measuredMs = performance.now() - probe.measureFrom;
  const emitted = probe.emitted - probe.emittedAtStart;
  const result = await client.cancel();
  if (result.status === 'FAILED') throw new Error(`the ${mode} run of ${scenario.name} failed`);

  const alignments: number[] = [];
  const bySubtask = new Map<string, number[]>();
  const delays: number[] = [];
  const held: number[] = [];
  const persisted: number[] = [];
  for (const s of stats) {
    let heldBytes = 0;
    let persistedBytes = 0;
    for (const { subtask, metrics } of s.subtasks) {
      heldBytes += metrics.bytesHeldDuringAlignment ?? 0;
      persistedBytes += metrics.persistedInFlightBytes ?? 0;
      if (!withInputs.has(subtask.vertexId)) continue;
      alignments.push(metrics.alignmentDurationMs);
      delays.push(metrics.startDelayMs);
      const key = subtaskName(names.get(subtask.vertexId)!, subtask.subtaskIndex);
      bySubtask.set(key, [...(bySubtask.get(key) ?? []), metrics.alignmentDurationMs]);
    }
    held.push(heldBytes);
    persisted.push(persistedBytes);
  }
  return {
    scenario: scenario.name,
    mode,
    level,
    durationMs: options.durationMs,
    throughput: (emitted / measuredMs) * 1000,
    checkpoints: { completed: stats.length, failed },
    checkpointDuration: percentiles(stats.map((s) => s.durationMs ?? 0)),
    alignmentDuration: percentiles(alignments),
    alignmentBySubtask: Object.fromEntries([...bySubtask].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, percentiles(v)])),
    startDelay: percentiles(delays),
    bytesHeldDuringAlignment: percentiles(held),
    inFlightBytesPersisted: percentiles(persisted),
    latency: percentiles(probe.latencies),
  };
}
