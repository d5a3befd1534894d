// `floe run --taskmanagers N [--slots K]`: starts the local cluster the job then runs on.
import { resolve } from 'node:path';
import type { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import { clusterView, type ClusterView } from '../cluster/cluster-views.ts';
import { LocalCluster } from '../cluster/local-cluster.ts';
import { FloeError } from '../errors.ts';

function count(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new FloeError('FLOE_USAGE', `${flag} takes a whole number of at least 1, not '${value}'`, {
      hint: `e.g. floe run job.ts -p 4 ${flag} 2`,
    });
  }
  return n;
}

/** Starts the TaskManagers and points the environment's job at them; returns what ends the cluster. */
export async function startLocalCluster(
  env: StreamExecutionEnvironment,
  jobPath: string,
  options: { taskmanagers?: string; slots?: string },
  out: (line: string) => void,
): Promise<{ close: () => Promise<void>; view: ClusterView }> {
  const taskManagers = count('--taskmanagers', options.taskmanagers!);
  const conf = env.config;
  // by default enough slots for the job: its highest parallelism spread over the TaskManagers
  const needed = Math.max(1, ...env.getJobGraph().vertices.map((v) => v.parallelism));
  const slots =
    options.slots !== undefined
      ? count('--slots', options.slots)
      : conf.has('taskmanager.numberOfTaskSlots')
        ? conf.get('taskmanager.numberOfTaskSlots')
        : Math.ceil(needed / taskManagers);
  const cluster = new LocalCluster({
    taskManagers,
    slots,
    heartbeatIntervalMs: conf.get('heartbeat.interval'),
    heartbeatTimeoutMs: conf.get('heartbeat.timeout'),
    log: out,
    taskManagerArgs: ['--preload', resolve(jobPath)],
  });
  try {
    await cluster.start();
  } catch (error) {
    await cluster.close();
    throw error;
  }
  out(
    `local cluster: JobManager at ${cluster.endpoint.address}, ${taskManagers} TaskManagers (pids ${cluster.pids.join(', ')}) with ${slots} slot${slots === 1 ? '' : 's'} each`,
  );
  env.setExecution(
    cluster.executionFor({ jobFile: resolve(jobPath), config: conf.toObject(), slotRequestTimeoutMs: conf.get('slot.request.timeout') }),
  );
  return { close: () => cluster.close(), view: clusterView(cluster.endpoint) };
}
