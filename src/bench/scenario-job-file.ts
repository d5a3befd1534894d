// The job file of `floe bench alignment --taskmanagers N`: TaskManagers build the scenario's job from it, as they build any job from its file.
import type { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { RunProbe, buildScenarioJob } from './scenario-job.ts';
import { loadScenario } from './scenario.ts';

/** the scenario's YAML file and the backpressure level, set by the bench before it starts the TaskManagers (they inherit its environment) */
export const SCENARIO_ENV = 'BENCH_SCENARIO_FILE';
export const LEVEL_ENV = 'BENCH_SCENARIO_LEVEL';

export default async function scenarioJob(env: StreamExecutionEnvironment): Promise<void> {
  const path = process.env[SCENARIO_ENV];
  if (!path) throw new Error(`${SCENARIO_ENV} is not set: this job file is run by floe bench alignment --taskmanagers`);
  // the probe of a TaskManager measures nothing the bench reads: throughput comes from the sources' task metrics
  buildScenarioJob(env, await loadScenario(path), new RunProbe(), Number(process.env[LEVEL_ENV] ?? 1));
}
