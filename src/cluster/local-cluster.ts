// `floe run --taskmanagers N`: this process is the JobManager; N TaskManager child processes run the job's subtasks.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ExecutionOptions, JobExecution } from '../coordinator/execution-graph.ts';
import { packagePath } from '../package-files.ts';
import { JobManagerEndpoint } from './job-manager-endpoint.ts';
import { RemoteExecution, type ClusterJob } from './remote-execution.ts';

const FLOE_BIN = packagePath('bin', 'floe.js');
/** a TaskManager that keeps dying at start must not be replaced forever */
const MAX_REPLACEMENTS = 20;

export interface LocalClusterOptions {
  taskManagers: number;
  slots: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** what the cluster says (a TaskManager lost and replaced) */
  log?: (line: string) => void;
  /** more arguments of every `floe taskmanager` (e.g. `--preload <job>`) */
  taskManagerArgs?: string[];
}

export class LocalCluster {
  readonly endpoint: JobManagerEndpoint;
  readonly #children = new Set<ChildProcess>();
  #closing = false;
  #replacements = 0;

  constructor(readonly options: LocalClusterOptions) {
    this.endpoint = new JobManagerEndpoint({
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    });
  }

  /** pids of the TaskManager processes running now */
  get pids(): number[] {
    return [...this.#children].map((c) => c.pid!).filter(Boolean);
  }

  /** Starts the endpoint and the TaskManagers; resolves when every one registered. */
  async start(): Promise<void> {
    await this.endpoint.start();
    const registered = new Promise<void>((resolve) => {
      const check = () => {
        if (this.endpoint.taskManagers.length < this.options.taskManagers) return;
        this.endpoint.off('registered', check);
        resolve();
      };
      this.endpoint.on('registered', check);
    });
    for (let i = 0; i < this.options.taskManagers; i++) this.#spawn();
    await registered;
  }

  #spawn(): void {
    const args = [
      FLOE_BIN,
      'taskmanager',
      '--jobmanager',
      this.endpoint.address,
      '--slots',
      String(this.options.slots),
      ...(this.options.taskManagerArgs ?? []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    this.#children.add(child);
    child.on('exit', (code, signal) => {
      this.#children.delete(child);
      if (this.#closing) return;
      if (this.#replacements >= MAX_REPLACEMENTS) {
        this.options.log?.(
          `TaskManager (pid ${child.pid}) exited (${signal ?? `code ${code}`}); not replaced: ${MAX_REPLACEMENTS} replacements already`,
        );
        return;
      }
      this.#replacements++;
      this.options.log?.(`TaskManager (pid ${child.pid}) exited (${signal ?? `code ${code}`}): a replacement starts`);
      this.#spawn();
    });
  }

  /** The job master's execution factory: attempts run on this cluster's TaskManagers. */
  executionFor(job: ClusterJob): (options: ExecutionOptions) => JobExecution {
    return (options) => new RemoteExecution(options, this.endpoint, job);
  }

  /** Ends the TaskManagers (shutdown, then SIGKILL whatever did not exit) and the endpoint. */
  async close(): Promise<void> {
    this.#closing = true;
    const exited = [...this.#children].map(
      (c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))),
    );
    await this.endpoint.close();
    const timer = setTimeout(() => {
      for (const c of this.#children) c.kill('SIGKILL');
    }, 5000);
    await Promise.all(exited);
    clearTimeout(timer);
  }
}
