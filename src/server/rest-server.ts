// The REST API (Flink's paths and shapes) over the jobs of this process: list, details, savepoints, stop, cancel, checkpoints.
import type { ClusterView } from '../cluster/cluster-views.ts';
import { isIP } from 'node:net';
import { isAbsolute, relative, resolve } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { JobClient } from '../api/job-client.ts';
import { FloeError, RestError } from '../errors.ts';
import { checkpointConfigView, checkpointsView, checkpointView, jobDetails, jobOverview, trackEnd } from './job-views.ts';
import { SavepointTriggers, triggerView } from './savepoint-triggers.ts';

export interface RestServerOptions {
  /** bind address; loopback by default */
  address?: string;
  port?: number;
  /** bearer token for mutating requests; required when `address` is not loopback */
  authToken?: string;
  /** savepoint targets must lie inside one of these (absolute after resolve) */
  allowedDirs: string[];
  /** default savepoint target (state.savepoints.dir) */
  savepointsDir?: string;
  /** largest request body, bytes */
  bodyLimit?: number;
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

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || (isIP(address) === 4 && address.startsWith('127.'));
}

/** Jobs served by the REST API, by id. */
export class JobRegistry {
  readonly #jobs = new Map<string, JobClient>();
  add(client: JobClient): void {
    this.#jobs.set(client.jobId, client);
    trackEnd(client);
  }
  get(id: string): JobClient | undefined {
    return this.#jobs.get(id);
  }
  list(): JobClient[] {
    return [...this.#jobs.values()];
  }
}

function send(reply: FastifyReply, status: number, error: FloeError) {
  return reply.code(status).send({ errors: [error.message], code: error.code, hint: error.hint });
}

function inside(dir: string, root: string): boolean {
  const rel = relative(root, dir);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export type RestServer = FastifyInstance & { savepointTriggers: SavepointTriggers };

export function createRestServer(jobs: JobRegistry, options: RestServerOptions): RestServer {
  const address = options.address ?? '127.0.0.1';
  if (!isLoopback(address) && !options.authToken) {
    throw new RestError('FLOE_REST_TOKEN_REQUIRED', `the REST server would listen on ${address}, reachable from other hosts, without rest.auth-token`, {
      hint: 'set rest.auth-token (-D rest.auth-token=...) or keep rest.address on 127.0.0.1',
    });
  }
  // strict validation: no type coercion, unknown fields are an error (not silently dropped)
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 64 * 1024, ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  const triggers = new SavepointTriggers();
  app.decorate('savepointTriggers', triggers);
  const roots = options.allowedDirs.map((d) => resolve(d));

  app.addHook('onRequest', async (request, reply) => {
    if (!options.authToken || !MUTATING.has(request.method)) return;
    if (request.headers.authorization !== `Bearer ${options.authToken}`) {
      return send(reply, 401, new RestError('FLOE_REST_UNAUTHORIZED', 'this request changes a job and needs the REST token', {
        hint: 'send Authorization: Bearer <rest.auth-token> (floe CLI: --token or FLOE_REST_TOKEN)',
      }));
    }
  });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 413 ? 'FLOE_REST_BODY_TOO_LARGE' : status === 400 ? 'FLOE_REST_BAD_REQUEST' : (error.code ?? 'FLOE_REST_ERROR');
    return reply.code(status).send({ errors: [error.message], code });
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, 404, new RestError('FLOE_REST_NOT_FOUND', `no such endpoint: ${request.method} ${request.url}`, { hint: 'see the REST API in the README' })));

  const job = (request: FastifyRequest, reply: FastifyReply): JobClient | undefined => {
    const id = (request.params as { jobid: string }).jobid;
    const client = jobs.get(id);
    if (!client) void send(reply, 404, new RestError('FLOE_JOB_NOT_FOUND', `no job with id ${id}`, { hint: 'list the jobs with `floe list` or GET /jobs' }));
    return client;
  };

  /** the savepoint target: given or the default, and inside the allowed directories */
  const target = (given: string | undefined, reply: FastifyReply): string | undefined => {
    const dir = given ?? options.savepointsDir;
    if (!dir) {
      void send(reply, 400, new RestError('FLOE_SAVEPOINT_NO_TARGET', 'no target directory: the request names none and state.savepoints.dir is not set', {
        hint: 'send {"target-directory": "/path"} or set state.savepoints.dir',
      }));
      return undefined;
    }
    const abs = resolve(dir);
    if (!roots.some((root) => inside(abs, root))) {
      void send(reply, 403, new RestError('FLOE_REST_TARGET_NOT_ALLOWED', `savepoint target ${abs} is outside the allowed directories (${roots.join(', ')})`, {
        hint: 'pick a directory inside them, or allow another when starting the job: floe run ... -D state.savepoints.dir=<dir> (or -D rest.savepoints.allowed-dirs=<dir>,<dir>; the default is state.savepoints.dir, else the working directory of floe run)',
      }));
      return undefined;
    }
    return abs;
  };

  app.get('/taskmanagers', async () => ({ taskmanagers: options.cluster?.taskManagers() ?? [] }));
  app.get('/taskmanagers/:tmid', async (request, reply) => {
    const id = (request.params as { tmid: string }).tmid;
    const tm = options.cluster?.taskManager(id);
    if (tm) return tm;
    return send(reply, 404, new RestError('FLOE_REST_TASKMANAGER_NOT_FOUND', `no TaskManager ${id}`, { hint: 'GET /taskmanagers lists them' }));
  });
  app.get('/jobs/:jobid/vertices/:vertexid/taskmanagers', async (request, reply) => {
    const client = job(request, reply);
    if (!client) return;
    const vertexId = (request.params as { vertexid: string }).vertexid;
    const view = options.cluster
      ? options.cluster.vertexTaskManagers(client.master.graph, client.master.execution, vertexId)
      : client.master.graph.vertices.some((v) => v.id === vertexId) ? { id: vertexId, now: Date.now(), taskmanagers: [] } : null;
    if (view) return view;
    return send(reply, 404, new RestError('FLOE_REST_VERTEX_NOT_FOUND', `job ${client.jobId} has no vertex ${vertexId}`, { hint: `GET /jobs/${client.jobId} lists its vertices` }));
  });
  const submitBody = {
    type: 'object',
    required: ['job-file'],
    properties: { 'job-file': { type: 'string', minLength: 1 }, 'job-name': { type: 'string', minLength: 1 }, config: { type: 'object' } },
    additionalProperties: false,
  } as const;
  app.post('/jobs', { schema: { body: submitBody } }, async (request, reply) => {
    if (!options.submit) return send(reply, 405, new RestError('FLOE_REST_NO_SUBMISSION', 'this floe runs one job: it takes no submissions', { hint: 'submit to a standalone JobManager: floe jobmanager, then floe run job.ts -m host:port' }));
    const body = request.body as { 'job-file': string; 'job-name'?: string; config?: Record<string, unknown> };
    try {
      const client = await options.submit({ jobFile: body['job-file'], config: body.config ?? {}, ...(body['job-name'] ? { jobName: body['job-name'] } : {}) });
      jobs.add(client);
      return reply.code(202).send({ jobid: client.jobId });
    } catch (error) {
      const e = error instanceof FloeError ? error : new RestError('FLOE_REST_SUBMIT_FAILED', `the job could not be submitted: ${(error as Error).message}`);
      return send(reply, e.code === 'FLOE_CLUSTER_BUSY' ? 409 : 400, e);
    }
  });
  app.get('/jobs', async () => ({ jobs: jobs.list().map(jobOverview) }));
  app.get('/jobs/overview', async () => ({ jobs: jobs.list().map(jobOverview) }));
  app.get('/jobs/:jobid', async (request, reply) => {
    const client = job(request, reply);
    return client && jobDetails(client);
  });

  const savepointBody = {
    type: 'object',
    properties: { 'target-directory': { type: 'string', minLength: 1 }, 'cancel-job': { type: 'boolean' } },
    additionalProperties: false,
  } as const;
  app.post('/jobs/:jobid/savepoints', { schema: { body: savepointBody } }, async (request, reply) => {
    const client = job(request, reply);
    if (!client) return;
    const body = (request.body ?? {}) as { 'target-directory'?: string; 'cancel-job'?: boolean };
    const dir = target(body['target-directory'], reply);
    if (!dir) return;
    const id = triggers.start(client.jobId, () => (body['cancel-job'] ? client.cancelWithSavepoint(dir) : client.triggerSavepoint(dir)));
    return reply.code(202).send({ 'request-id': id });
  });

  const stopBody = {
    type: 'object',
    properties: { targetDirectory: { type: 'string', minLength: 1 }, drain: { type: 'boolean' } },
    additionalProperties: false,
  } as const;
  app.post('/jobs/:jobid/stop', { schema: { body: stopBody } }, async (request, reply) => {
    const client = job(request, reply);
    if (!client) return;
    const body = (request.body ?? {}) as { targetDirectory?: string; drain?: boolean };
    const dir = target(body.targetDirectory, reply);
    if (!dir) return;
    const id = triggers.start(client.jobId, () => client.stopWithSavepoint(dir, { drain: body.drain ?? false }));
    return reply.code(202).send({ 'request-id': id });
  });

  app.get('/jobs/:jobid/savepoints/:triggerid', async (request, reply) => {
    const client = job(request, reply);
    if (!client) return;
    const state = triggers.get(client.jobId, (request.params as { triggerid: string }).triggerid);
    if (!state) return send(reply, 404, new RestError('FLOE_REST_TRIGGER_NOT_FOUND', 'no savepoint operation with that id for this job', { hint: 'use the request-id the trigger returned' }));
    return triggerView(state);
  });

  app.patch('/jobs/:jobid', { schema: { querystring: { type: 'object', properties: { mode: { type: 'string', enum: ['cancel'] } } } } }, async (request, reply) => {
    const client = job(request, reply);
    if (!client) return;
    void client.cancel().catch(() => {});
    return reply.code(202).send({});
  });

  app.get('/jobs/:jobid/checkpoints', async (request, reply) => {
    const client = job(request, reply);
    return client && checkpointsView(client);
  });
  app.get('/jobs/:jobid/checkpoints/config', async (request, reply) => {
    const client = job(request, reply);
    return client && checkpointConfigView(client);
  });
  app.get('/jobs/:jobid/checkpoints/details/:checkpointid', async (request, reply) => {
    const client = job(request, reply);
    if (!client) return;
    const raw = (request.params as { checkpointid: string }).checkpointid;
    const id = Number(raw);
    if (!/^\d+$/.test(raw)) return send(reply, 400, new RestError('FLOE_REST_BAD_REQUEST', `checkpoint id must be a number, got '${raw}'`));
    const stats = client.getCheckpointHistory().find((s) => s.id === id);
    if (!stats) return send(reply, 404, new RestError('FLOE_CHECKPOINT_NOT_FOUND', `checkpoint ${id} is not in the job's recent history`, { hint: 'GET /jobs/:jobid/checkpoints lists them' }));
    return checkpointView(stats, client.master.graph);
  });
  return app as unknown as RestServer;
}

/** Starts the server; resolves with the address and port it listens on (port 0 picks a free one). */
export async function startRestServer(jobs: JobRegistry, options: RestServerOptions): Promise<{ app: RestServer; address: string; port: number }> {
  const app = createRestServer(jobs, options);
  const address = options.address ?? '127.0.0.1';
  try {
    await app.listen({ host: address, port: options.port ?? 8081 });
  } catch (cause) {
    throw new RestError('FLOE_REST_LISTEN_FAILED', `the REST server cannot listen on ${address}:${options.port}: ${(cause as Error).message}`, {
      cause,
      hint: 'pick another port with --rest-port N (0 picks a free one)',
    });
  }
  const bound = app.server.address();
  return { app, address, port: typeof bound === 'object' && bound ? bound.port : (options.port ?? 8081) };
}
