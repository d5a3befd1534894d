// The endpoints of the REST API, at Flink's paths, with requests read as Flink's clients send them.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JobClient } from '../api/job-client.ts';
import { FloeError, RestError } from '../errors.ts';
import { packagePath } from '../package-files.ts';
import { Savepoint } from '../savepoints/savepoint.ts';
import { checkpointConfigView, checkpointsView, checkpointView, subtaskCheckpointsView } from './checkpoint-views.ts';
import type { JobRecord } from './job-tracker.ts';
import {
  executionResultView,
  exceptionsView,
  findVertex,
  jobConfigView,
  jobDetails,
  jobIdAndStatus,
  jobOverview,
  jobPlan,
} from './job-views.ts';
import type { RouteContext } from './route-context.ts';
import { triggerView } from './savepoint-triggers.ts';
import { backpressureView, subtaskMetricsView, taskManagersView, vertexDetails, watermarksView } from './vertex-views.ts';

const VERSION = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** Flink's TriggerId: 32 hex digits */
const triggerId = { type: 'string', pattern: '^[0-9a-fA-F]{32}$' } as const;
/** floe writes its one savepoint format whatever is asked: both names are accepted, as Flink's clients send them */
const formatType = { type: 'string', enum: ['CANONICAL', 'NATIVE'] } as const;

const savepointBody = {
  type: 'object',
  properties: { 'target-directory': { type: 'string', minLength: 1 }, 'cancel-job': { type: 'boolean' }, formatType, triggerId },
  additionalProperties: false,
} as const;
const stopBody = {
  type: 'object',
  properties: { targetDirectory: { type: 'string', minLength: 1 }, drain: { type: 'boolean' }, formatType, triggerId },
  additionalProperties: false,
} as const;
const disposalBody = {
  type: 'object',
  properties: { 'savepoint-path': { type: 'string', minLength: 1 } },
  required: ['savepoint-path'],
  additionalProperties: false,
} as const;

/** Flink's error body ({errors: [...]}) with floe's stable code and hint */
export function sendError(reply: FastifyReply, status: number, error: FloeError) {
  return reply.code(status).send({ errors: [error.message], code: error.code, hint: error.hint });
}

export interface RoutePattern {
  method: string;
  regex: RegExp;
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown;

export function registerRoutes(app: FastifyInstance, ctx: RouteContext): RoutePattern[] {
  const { jobs, options, triggers, allowed } = ctx;
  const patterns: RoutePattern[] = [];
  const route = (method: 'GET' | 'POST' | 'PATCH', url: string, handler: Handler, body?: object) => {
    patterns.push({ method, regex: new RegExp(`^${url.replace(/:[a-z]+/g, '[^/]+')}/?$`) });
    app.route({ method, url, handler: handler as never, ...(body ? { schema: { body } } : {}) });
  };

  const job = (request: FastifyRequest, reply: FastifyReply): { client: JobClient; record: JobRecord } | undefined => {
    const id = (request.params as { jobid: string }).jobid;
    const client = jobs.get(id);
    if (!client) {
      void sendError(
        reply,
        404,
        new RestError('FLOE_JOB_NOT_FOUND', `no job with id ${id}`, { hint: 'list the jobs with `floe list` or GET /jobs/overview' }),
      );
      return undefined;
    }
    return { client, record: jobs.record(id)! };
  };
  const vertex = (request: FastifyRequest, reply: FastifyReply, client: JobClient) => {
    const vid = (request.params as { vertexid: string }).vertexid;
    const v = findVertex(client, vid);
    if (!v)
      void sendError(
        reply,
        404,
        new RestError('FLOE_REST_VERTEX_NOT_FOUND', `job ${client.jobId} has no vertex ${vid}`, {
          hint: 'GET /jobs/:jobid lists its vertices with their ids',
        }),
      );
    return v;
  };
  const checkpoint = (request: FastifyRequest, reply: FastifyReply, client: JobClient) => {
    const raw = (request.params as { checkpointid: string }).checkpointid;
    if (!/^\d+$/.test(raw)) {
      void sendError(
        reply,
        400,
        new RestError('FLOE_REST_BAD_REQUEST', `checkpoint id must be a number, got '${raw}'`, {
          hint: 'GET /jobs/:jobid/checkpoints lists the ids',
        }),
      );
      return undefined;
    }
    const stats = client.getCheckpointHistory().find((s) => s.id === Number(raw));
    if (!stats)
      void sendError(
        reply,
        404,
        new RestError('FLOE_CHECKPOINT_NOT_FOUND', `checkpoint ${raw} is not in the job's recent history`, {
          hint: 'GET /jobs/:jobid/checkpoints lists them',
        }),
      );
    return stats;
  };

  /** the savepoint target: given or the default, inside the allowed directories once symlinks are resolved */
  const target = (given: string | undefined, reply: FastifyReply): string | undefined => {
    const dir = given ?? options.savepointsDir;
    if (!dir) {
      void sendError(
        reply,
        400,
        new RestError('FLOE_SAVEPOINT_NO_TARGET', 'no target directory: the request names none and state.savepoints.dir is not set', {
          hint: 'send {"target-directory": "/path"} or set state.savepoints.dir',
        }),
      );
      return undefined;
    }
    const real = allowed.check(dir);
    if (!real) {
      void sendError(
        reply,
        403,
        new RestError(
          'FLOE_REST_TARGET_NOT_ALLOWED',
          `savepoint target ${dir} is outside the allowed directories (${allowed.roots.join(', ')}), symlinks resolved`,
          {
            hint: 'pick a directory inside them, or allow another when starting the job: floe run ... -D state.savepoints.dir=<dir> (or -D rest.savepoints.allowed-dirs=<dir>,<dir>; the default is state.savepoints.dir, else the working directory of floe run)',
          },
        ),
      );
    }
    return real;
  };

  // ---- cluster ----
  route('GET', '/config', () => ({
    'refresh-interval': 3000,
    'timezone-name': Intl.DateTimeFormat().resolvedOptions().timeZone,
    'timezone-offset': -new Date().getTimezoneOffset() * 60_000,
    'flink-version': `floe ${VERSION}`,
    'flink-revision': VERSION,
    features: { 'web-submit': false, 'web-cancel': true, 'web-rescale': false, 'web-history': false },
  }));
  route('GET', '/overview', () => {
    const states = jobs.list().map((c) => c.getJobStatus());
    const count = (s: string) => states.filter((x) => x === s).length;
    const {
      taskmanagers: [tm],
    } = taskManagersView(jobs.list());
    return {
      taskmanagers: 1,
      'slots-total': tm!.slotsNumber,
      'slots-available': tm!.freeSlots,
      'jobs-running': states.filter((s) => !TERMINAL.has(s)).length,
      'jobs-finished': count('FINISHED'),
      'jobs-cancelled': count('CANCELED'),
      'jobs-failed': count('FAILED'),
      'flink-version': `floe ${VERSION}`,
      'flink-commit': VERSION,
    };
  });
  route('GET', '/taskmanagers', () => (options.cluster ? { taskmanagers: options.cluster.taskManagers() } : taskManagersView(jobs.list())));
  route('GET', '/taskmanagers/:tmid', (request, reply) => {
    const id = (request.params as { tmid: string }).tmid;
    const tm = options.cluster?.taskManager(id);
    if (tm) return tm;
    return sendError(
      reply,
      404,
      new RestError('FLOE_REST_TASKMANAGER_NOT_FOUND', `no TaskManager ${id}`, { hint: 'GET /taskmanagers lists them' }),
    );
  });
  // a standalone JobManager (floe jobmanager) takes jobs; a floe run serves its one job
  const submitBody = {
    type: 'object',
    required: ['job-file'],
    properties: { 'job-file': { type: 'string', minLength: 1 }, 'job-name': { type: 'string', minLength: 1 }, config: { type: 'object' } },
    additionalProperties: false,
  } as const;
  route(
    'POST',
    '/jobs',
    async (request, reply) => {
      if (!options.submit)
        return sendError(
          reply,
          405,
          new RestError('FLOE_REST_NO_SUBMISSION', 'this floe runs one job: it takes no submissions', {
            hint: 'submit to a standalone JobManager: floe jobmanager, then floe run job.ts -m host:port',
          }),
        );
      const body = request.body as { 'job-file': string; 'job-name'?: string; config?: Record<string, unknown> };
      try {
        const client = await options.submit({
          jobFile: body['job-file'],
          config: body.config ?? {},
          ...(body['job-name'] ? { jobName: body['job-name'] } : {}),
        });
        jobs.add(client);
        return reply.code(202).send({ jobid: client.jobId });
      } catch (error) {
        const e =
          error instanceof FloeError
            ? error
            : new RestError('FLOE_REST_SUBMIT_FAILED', `the job could not be submitted: ${(error as Error).message}`);
        return sendError(reply, e.code === 'FLOE_CLUSTER_BUSY' ? 409 : 400, e);
      }
    },
    submitBody,
  );

  // ---- jobs ----
  route('GET', '/jobs', () => ({ jobs: jobs.list().map(jobIdAndStatus) }));
  route('GET', '/jobs/overview', () => ({ jobs: jobs.list().map((c) => jobOverview(c, jobs.record(c.jobId)!)) }));
  // Flink's aggregated job metrics: floe aggregates none yet; a static path, so never taken for a job id
  route('GET', '/jobs/metrics', () => []);
  route('GET', '/jobs/:jobid', (request, reply) => {
    const j = job(request, reply);
    return j && jobDetails(j.client, j.record);
  });
  route('GET', '/jobs/:jobid/status', (request, reply) => {
    const j = job(request, reply);
    return j && { status: j.client.getJobStatus() };
  });
  route('GET', '/jobs/:jobid/plan', (request, reply) => {
    const j = job(request, reply);
    return j && { plan: jobPlan(j.client) };
  });
  route('GET', '/jobs/:jobid/config', (request, reply) => {
    const j = job(request, reply);
    return j && jobConfigView(j.client);
  });
  route('GET', '/jobs/:jobid/exceptions', (request, reply) => {
    const j = job(request, reply);
    if (!j) return;
    const max = Number((request.query as { maxExceptions?: string }).maxExceptions ?? NaN);
    return exceptionsView(j.record, Number.isInteger(max) && max >= 0 ? max : undefined);
  });
  route('GET', '/jobs/:jobid/execution-result', (request, reply) => {
    const j = job(request, reply);
    return j && executionResultView(j.client, j.record);
  });

  // ---- vertices ----
  route('GET', '/jobs/:jobid/vertices/:vertexid', (request, reply) => {
    const j = job(request, reply);
    const v = j && vertex(request, reply, j.client);
    return v && vertexDetails(j.client, j.record, v);
  });
  route('GET', '/jobs/:jobid/vertices/:vertexid/backpressure', (request, reply) => {
    const j = job(request, reply);
    const v = j && vertex(request, reply, j.client);
    return v && backpressureView(j.client, v);
  });
  route('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', (request, reply) => {
    const j = job(request, reply);
    const v = j && vertex(request, reply, j.client);
    return v && subtaskMetricsView(j.client, v, (request.query as { get?: string }).get);
  });
  route('GET', '/jobs/:jobid/vertices/:vertexid/taskmanagers', (request, reply) => {
    const j = job(request, reply);
    const v = j && vertex(request, reply, j.client);
    if (!j || !v) return;
    const id = (request.params as { vertexid: string }).vertexid;
    return (
      options.cluster?.vertexTaskManagers(j.client.master.graph, j.client.master.execution, v.id) ?? {
        id,
        now: Date.now(),
        taskmanagers: [],
      }
    );
  });
  route('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', (request, reply) => {
    const j = job(request, reply);
    const v = j && vertex(request, reply, j.client);
    return v && watermarksView(j.client, v);
  });

  // ---- checkpoints ----
  route('GET', '/jobs/:jobid/checkpoints', (request, reply) => {
    const j = job(request, reply);
    if (!j) return;
    // floe: ?history-offset=&history-limit= pages the history (newest first; the dashboard's pages), without them all of it as Flink
    const query = request.query as Record<string, string | undefined>;
    const page: { offset?: number; limit?: number } = {};
    for (const [name, key] of [
      ['history-offset', 'offset'],
      ['history-limit', 'limit'],
    ] as const) {
      const raw = query[name];
      if (raw === undefined) continue;
      if (!/^\d{1,9}$/.test(raw)) {
        return sendError(
          reply,
          400,
          new RestError('FLOE_REST_BAD_REQUEST', `${name} must be a whole number, got '${raw}'`, {
            hint: 'e.g. ?history-offset=100&history-limit=100: the second hundred, newest first',
          }),
        );
      }
      page[key] = Number(raw);
    }
    return checkpointsView(j.client, j.record, page);
  });
  route('GET', '/jobs/:jobid/checkpoints/config', (request, reply) => {
    const j = job(request, reply);
    return j && checkpointConfigView(j.client);
  });
  route('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', (request, reply) => {
    const j = job(request, reply);
    const s = j && checkpoint(request, reply, j.client);
    return s && checkpointView(j.client, j.record, s);
  });
  route('GET', '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid', (request, reply) => {
    const j = job(request, reply);
    const s = j && checkpoint(request, reply, j.client);
    const v = s && vertex(request, reply, j.client);
    return v && subtaskCheckpointsView(j.client, s, v);
  });

  // ---- savepoints, stop, cancel ----
  route(
    'POST',
    '/jobs/:jobid/savepoints',
    (request, reply) => {
      const j = job(request, reply);
      if (!j) return;
      const body = request.body as { 'target-directory'?: string; 'cancel-job'?: boolean; triggerId?: string };
      const dir = target(body['target-directory'], reply);
      if (!dir) return;
      const { client } = j;
      const id = triggers.start(
        client.jobId,
        () => (body['cancel-job'] ? client.cancelWithSavepoint(dir) : client.triggerSavepoint(dir)),
        body.triggerId,
      );
      return reply.code(202).send({ 'request-id': id });
    },
    savepointBody,
  );
  route(
    'POST',
    '/jobs/:jobid/stop',
    (request, reply) => {
      const j = job(request, reply);
      if (!j) return;
      const body = request.body as { targetDirectory?: string; drain?: boolean; triggerId?: string };
      const dir = target(body.targetDirectory, reply);
      if (!dir) return;
      const id = triggers.start(j.client.jobId, () => j.client.stopWithSavepoint(dir, { drain: body.drain ?? false }), body.triggerId);
      return reply.code(202).send({ 'request-id': id });
    },
    stopBody,
  );
  route('GET', '/jobs/:jobid/savepoints/:triggerid', (request, reply) => {
    const j = job(request, reply);
    if (!j) return;
    const state = triggers.get(j.client.jobId, (request.params as { triggerid: string }).triggerid.toLowerCase());
    if (!state)
      return sendError(
        reply,
        404,
        new RestError('FLOE_REST_TRIGGER_NOT_FOUND', 'no savepoint operation with that id for this job', {
          hint: 'use the request-id the trigger returned',
        }),
      );
    return triggerView(state);
  });
  // PATCH ?mode=cancel (the default) or stop, in any case: stop is a graceful stop with a savepoint into state.savepoints.dir
  route('PATCH', '/jobs/:jobid', (request, reply) => {
    const mode = String((request.query as { mode?: unknown }).mode ?? 'cancel').toLowerCase();
    if (mode !== 'cancel' && mode !== 'stop') {
      return sendError(
        reply,
        400,
        new RestError('FLOE_REST_BAD_REQUEST', `unknown termination mode '${String((request.query as { mode?: unknown }).mode)}'`, {
          hint: 'use ?mode=cancel or ?mode=stop',
        }),
      );
    }
    const j = job(request, reply);
    if (!j) return;
    if (mode === 'cancel') {
      void j.client.cancel().catch(() => {});
      return reply.code(202).send({});
    }
    const dir = target(undefined, reply);
    if (!dir) return;
    const id = triggers.start(j.client.jobId, () => j.client.stopWithSavepoint(dir));
    return reply.code(202).send({ 'request-id': id });
  });

  // ---- savepoint disposal ----
  route(
    'POST',
    '/savepoint-disposal',
    (request, reply) => {
      const path = (request.body as { 'savepoint-path': string })['savepoint-path'];
      const real = allowed.check(path);
      if (!real) {
        return sendError(
          reply,
          403,
          new RestError(
            'FLOE_REST_TARGET_NOT_ALLOWED',
            `savepoint ${path} is outside the allowed directories (${allowed.roots.join(', ')}), symlinks resolved`,
            {
              hint: 'only savepoints inside rest.savepoints.allowed-dirs can be disposed of over REST; use `floe savepoint --dispose` locally',
            },
          ),
        );
      }
      // disposals are kept under no job: their ids are their own namespace
      const id = triggers.start('', () => Savepoint.dispose(real));
      return reply.code(202).send({ 'request-id': id });
    },
    disposalBody,
  );
  route('GET', '/savepoint-disposal/:triggerid', (request, reply) => {
    const state = triggers.get('', (request.params as { triggerid: string }).triggerid.toLowerCase());
    if (!state)
      return sendError(
        reply,
        404,
        new RestError('FLOE_REST_TRIGGER_NOT_FOUND', 'no savepoint disposal with that id', {
          hint: 'use the request-id POST /savepoint-disposal returned',
        }),
      );
    const view = triggerView(state);
    // Flink's AsynchronousOperationInfo: success is an operation without a failure cause
    return state.status === 'COMPLETED' ? { status: view.status, operation: {} } : view;
  });
  return patterns;
}
