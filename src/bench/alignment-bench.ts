// The alignment benchmark: runs a scenario on the real runtime in each checkpointing mode and measures what barriers cost.
import { resolve } from 'node:path';
import type { JobClient } from '../api/job-client.ts';
import { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { LocalCluster } from '../cluster/local-cluster.ts';
import type { CheckpointStats } from '../checkpoint/completed-checkpoint.ts';
import { ConfigError } from '../errors.ts';
import { entryPoint } from '../package-files.ts';
import { subtaskName } from '../graph/job-graph.ts';
import type { Scenario } from './scenario.ts';
import { LEVEL_ENV, SCENARIO_ENV } from './scenario-job-file.ts';
import { buildScenarioJob, RunProbe } from './scenario-job.ts';

import { MODES, type BenchMode } from './bench-modes.ts';

export { MODES, type BenchMode };

export function parseModes(list: string): BenchMode[] {
  const modes = list
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
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
  /** source to sink, ms (not measured on a cluster: source and sink clocks are other processes') */
  latency: Percentiles;
  /** run on a local cluster of this many TaskManager processes; absent: in this process */
  taskManagers?: number;
}

/** Where a run's tasks go: a local cluster of TaskManager processes building the scenario's job from its file. */
export interface ClusterRun {
  taskManagers: number;
  /** the scenario's YAML file: each TaskManager loads it */
  scenarioPath: string;
}

const SCENARIO_JOB_FILE = entryPoint('bench/scenario-job-file');

/** Starts the TaskManagers and points the environment's job at them. */
async function startCluster(env: StreamExecutionEnvironment, run: ClusterRun, level: number): Promise<LocalCluster> {
  // the TaskManagers inherit this process's environment: the job file reads the scenario from it
  process.env[SCENARIO_ENV] = resolve(run.scenarioPath);
  process.env[LEVEL_ENV] = String(level);
  const needed = Math.max(1, ...env.getJobGraph().vertices.map((v) => v.parallelism));
  const cluster = new LocalCluster({
    taskManagers: run.taskManagers,
    slots: Math.ceil(needed / run.taskManagers),
    heartbeatIntervalMs: env.config.get('heartbeat.interval'),
    heartbeatTimeoutMs: env.config.get('heartbeat.timeout'),
    taskManagerArgs: ['--preload', SCENARIO_JOB_FILE],
  });
  try {
    await cluster.start();
  } catch (error) {
    await cluster.close();
    throw error;
  }
  env.setExecution(cluster.executionFor({ jobFile: SCENARIO_JOB_FILE, config: env.config.toObject(), slotRequestTimeoutMs: 60_000 }));
  return cluster;
}

/** Records the source subtasks emitted so far, from their sampled task metrics (wherever they run), with the latest sample's time. */
function sourceRecordsOut(client: JobClient, sources: ReadonlySet<string>): { records: number; at: number } {
  const metrics = client.master.actor.getSnapshot().context.metrics;
  let records = 0;
  let at = 0;
  for (const [key, m] of Object.entries(metrics)) {
    if (!sources.has(key.split('#')[0]!)) continue;
    records += m.recordsOut;
    at = Math.max(at, m.sampledAt);
  }
  return { records, at };
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
export async function runMode(
  scenario: Scenario,
  mode: BenchMode,
  options: { durationMs: number; level?: number; onTick?: (elapsedMs: number) => void; cluster?: ClusterRun },
): Promise<ModeResult> {
  const level = options.level ?? 1;
  const probe = new RunProbe();
  const env = StreamExecutionEnvironment.getExecutionEnvironment(configFor(scenario, mode));
  buildScenarioJob(env, scenario, probe, level);
  const cluster = options.cluster ? await startCluster(env, options.cluster, level) : null;
  try {
    return await measure(env, scenario, mode, probe, level, options, cluster !== null);
  } finally {
    await cluster?.close();
  }
}

async function measure(
  env: StreamExecutionEnvironment,
  scenario: Scenario,
  mode: BenchMode,
  probe: RunProbe,
  level: number,
  options: { durationMs: number; onTick?: (elapsedMs: number) => void; cluster?: ClusterRun },
  remote: boolean,
): Promise<ModeResult> {
  const graph = env.getJobGraph();
  const sources = new Set(graph.vertices.filter((v) => v.inputs.length === 0).map((v) => v.id));
  let sampledAtStart = { records: 0, at: 0 };
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
        sampledAtStart = sourceRecordsOut(client, sources);
      }
      // the first sample of the sources' metrics may come after warm-up (they are sampled once a second)
      if (measuring && sampledAtStart.at === 0) sampledAtStart = sourceRecordsOut(client, sources);
      options.onTick?.(elapsed);
      if (elapsed >= options.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
  // in TaskManagers the sources count in other processes: their sampled task metrics tell (once a second)
  let sampledAtEnd = sourceRecordsOut(client, sources);
  if (remote) {
    // a busy machine may delay the samples: a measurement needs two of them, a first and a newer one (waited for, bounded)
    const deadline = performance.now() + 10_000;
    while ((sampledAtStart.at === 0 || sampledAtEnd.at <= sampledAtStart.at) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (sampledAtStart.at === 0) sampledAtStart = sourceRecordsOut(client, sources);
      sampledAtEnd = sourceRecordsOut(client, sources);
    }
  }
  const measuredMs = remote ? (sampledAtStart.at === 0 ? 0 : sampledAtEnd.at - sampledAtStart.at) : performance.now() - probe.measureFrom;
  const emitted = remote ? sampledAtEnd.records - sampledAtStart.records : probe.emitted - probe.emittedAtStart;
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
    throughput: measuredMs > 0 ? (emitted / measuredMs) * 1000 : 0,
    checkpoints: { completed: stats.length, failed },
    checkpointDuration: percentiles(stats.map((s) => s.durationMs ?? 0)),
    alignmentDuration: percentiles(alignments),
    alignmentBySubtask: Object.fromEntries([...bySubtask].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, percentiles(v)])),
    startDelay: percentiles(delays),
    bytesHeldDuringAlignment: percentiles(held),
    inFlightBytesPersisted: percentiles(persisted),
    latency: percentiles(probe.latencies),
    ...(options.cluster ? { taskManagers: options.cluster.taskManagers } : {}),
  };
}
