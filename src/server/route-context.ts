// What the REST routes are given: the jobs served, the server's options, savepoint triggers, allowed directories.
import type { JobClient } from '../api/job-client.ts';
import type { ClusterView } from '../cluster/cluster-views.ts';
import type { AllowedDirs } from './allowed-dirs.ts';
import { trackJob, type JobRecord } from './job-tracker.ts';
import type { SavepointTriggers } from './savepoint-triggers.ts';

export interface RestServerOptions {
  /** bind address; loopback by default */
  address?: string;
  port?: number;
  /** bearer token for mutating requests; required when `address` is not loopback */
  authToken?: string;
  /** savepoint targets must lie inside one of these (after resolving symlinks) */
  allowedDirs: string[];
  /** default savepoint target (state.savepoints.dir) */
  savepointsDir?: string;
  /** largest request body, bytes */
  bodyLimit?: number;
  /** rest.cors.allowed-origins: origins (or '*') that may call the API from their pages; none by default */
  corsAllowedOrigins?: string[];
  /** the cluster the jobs run on (floe run --taskmanagers): /taskmanagers and the vertices' TaskManagers */
  cluster?: ClusterView;
  /** a standalone JobManager (floe jobmanager) takes jobs: POST /jobs {"job-file", "config", "job-name"} */
  submit?: (request: JobSubmission) => Promise<JobClient>;
}

export interface JobSubmission {
  jobFile: string;
  config: Record<string, unknown>;
  jobName?: string;
}

/** Jobs served by the REST API, by id, with what the API remembers of each. */
export class JobRegistry {
  readonly #jobs = new Map<string, { client: JobClient; record: JobRecord }>();
  add(client: JobClient): void {
    this.#jobs.set(client.jobId, { client, record: trackJob(client) });
  }
  get(id: string): JobClient | undefined {
    return this.#jobs.get(id)?.client;
  }
  record(id: string): JobRecord | undefined {
    return this.#jobs.get(id)?.record;
  }
  list(): JobClient[] {
    return [...this.#jobs.values()].map((j) => j.client);
  }
}

export interface RouteContext {
  jobs: JobRegistry;
  options: RestServerOptions;
  triggers: SavepointTriggers;
  allowed: AllowedDirs;
}
