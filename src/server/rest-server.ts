// The REST server (fastify): Flink's paths and shapes over the jobs of this process, with its security rules.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { FloeError, RestError } from '../errors.ts';
import { AllowedDirs } from './allowed-dirs.ts';
import { registerRoutes, sendError } from './rest-routes.ts';
import { JobRegistry, type RestServerOptions, type RouteContext } from './route-context.ts';
import { mountDashboard } from '../web/dashboard-routes.ts';
import { SavepointTriggers } from './savepoint-triggers.ts';

export { JobRegistry, type JobSubmission, type RestServerOptions, type RouteContext } from './route-context.ts';

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || (isIP(address) === 4 && address.startsWith('127.'));
}

const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export type RestServer = FastifyInstance & { savepointTriggers: SavepointTriggers };

/** whether a Host header names this machine's loopback (with any port) */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return true; // HTTP/1.0 clients send none; nothing to rebind
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return isLoopback(name) || name.endsWith('.localhost');
}

/** Whether a request carries the REST token (always true when the server has none); compared in constant time, as the live feed does. */
export function isAuthorized(request: FastifyRequest, authToken: string | undefined): boolean {
  if (!authToken) return true;
  const given = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${authToken}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The origin a request came from, if it is a browser's cross-origin request (its Origin names another host than the one it called). */
function foreignOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin;
  if (!origin) return undefined;
  try {
    return new URL(origin).host === request.headers.host ? undefined : origin;
  } catch {
    return origin;
  }
}

export function createRestServer(jobs: JobRegistry, options: RestServerOptions): RestServer {
  const address = options.address ?? '127.0.0.1';
  if (!isLoopback(address) && !options.authToken) {
    throw new RestError(
      'FLOE_REST_TOKEN_REQUIRED',
      `the REST server would listen on ${address}, reachable from other hosts, without rest.auth-token`,
      {
        hint: 'set rest.auth-token (-D rest.auth-token=...) or keep rest.address on 127.0.0.1',
      },
    );
  }
  // strict validation: no type coercion, unknown fields are an error (not silently dropped)
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  const triggers = new SavepointTriggers();
  app.decorate('savepointTriggers', triggers);
  const cors = options.corsAllowedOrigins ?? [];
  const corsAllows = (origin: string) => cors.includes('*') || cors.includes(origin);

  // a POST without a body is `{}`, as Flink's clients send it (with or without a JSON content type)
  // JSON only: a text/plain body (what a page can send cross-origin without a preflight) is 415
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(Object.assign(new Error(`the body is not valid JSON: ${(error as Error).message}`), { statusCode: 400 }), undefined);
    }
  });
  app.addHook('preValidation', async (request) => {
    if (MUTATING.has(request.method) && request.body === undefined) request.body = {};
  });

  const loopbackOnly = isLoopback(address);
  app.addHook('onRequest', async (request, reply) => {
    // DNS rebinding: a page of evil.example whose name resolves to 127.0.0.1 calls us as its own origin; on
    // loopback, only loopback host names are served
    if (loopbackOnly && !isLoopbackHost(request.headers.host)) {
      return sendError(
        reply,
        403,
        new RestError(
          'FLOE_REST_HOST_NOT_ALLOWED',
          `this REST API listens on ${address} and answers only requests for a loopback host, not '${request.headers.host ?? ''}'`,
          {
            hint: 'call it as 127.0.0.1, localhost or [::1]; to serve other hosts set rest.address (and rest.auth-token)',
          },
        ),
      );
    }
    const origin = foreignOrigin(request);
    // CORS only when rest.cors.allowed-origins names the origin; otherwise the browser keeps other pages out
    if (origin && corsAllows(origin)) {
      void reply.header('access-control-allow-origin', cors.includes('*') ? '*' : origin).header('vary', 'origin');
      if (request.method === 'OPTIONS') {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST, PATCH')
          .header('access-control-allow-headers', 'content-type, authorization')
          .header('access-control-max-age', '600')
          .send();
      }
    }
    if (!MUTATING.has(request.method)) return;
    // a page of another origin can send a bodiless POST without a preflight: refuse it unless allowed (no cross-site stop or cancel)
    if (origin && !corsAllows(origin)) {
      return sendError(
        reply,
        403,
        new RestError('FLOE_REST_ORIGIN_NOT_ALLOWED', `a page from ${origin} may not change jobs through this REST API`, {
          hint: 'allow it with -D rest.cors.allowed-origins=<origin>, or send the request from the dashboard or the floe CLI',
        }),
      );
    }
    if (!isAuthorized(request, options.authToken)) {
      return sendError(
        reply,
        401,
        new RestError('FLOE_REST_UNAUTHORIZED', 'this request changes a job and needs the REST token', {
          hint: 'send Authorization: Bearer <rest.auth-token> (floe CLI: --token or FLOE_REST_TOKEN)',
        }),
      );
    }
  });
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string; validation?: unknown }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code =
      status === 413
        ? 'FLOE_REST_BODY_TOO_LARGE'
        : status === 415
          ? 'FLOE_REST_UNSUPPORTED_MEDIA_TYPE'
          : status === 400
            ? 'FLOE_REST_BAD_REQUEST'
            : error instanceof FloeError
              ? error.code
              : 'FLOE_REST_ERROR';
    const hint =
      status === 413
        ? `bodies are limited to ${options.bodyLimit ?? 64 * 1024} bytes (rest.server.max-content-length)`
        : status === 415
          ? 'send JSON with content-type: application/json'
          : status === 400
            ? 'see the request body fields of this endpoint in the README (REST API)'
            : undefined;
    return reply.code(status).send({ errors: [error.message], code, ...(hint ? { hint } : {}) });
  });

  const allowed = new AllowedDirs(options.allowedDirs);
  const patterns = registerRoutes(app, { jobs, options, triggers, allowed });
  // the dashboard (issue 13): GET /, GET /web/:name, websocket /live (token and origin rules as the mutating requests)
  mountDashboard(app, jobs, {
    authToken: options.authToken,
    corsAllowedOrigins: options.corsAllowedOrigins,
    allowHost: (host) => !loopbackOnly || isLoopbackHost(host),
  });

  // a known path with another method is 405 with the methods it has (Flink answers so too), an unknown path 404
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const methods = patterns.filter((p) => p.regex.test(path)).map((p) => p.method);
    if (methods.length > 0) {
      void reply.header('allow', [...new Set(methods)].join(', '));
      return sendError(
        reply,
        405,
        new RestError('FLOE_REST_METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, {
          hint: `use ${[...new Set(methods)].join(' or ')}`,
        }),
      );
    }
    return sendError(
      reply,
      404,
      new RestError('FLOE_REST_NOT_FOUND', `no such endpoint: ${request.method} ${path}`, { hint: 'see the REST API in the README' }),
    );
  });
  return app as unknown as RestServer;
}

/** Starts the server; resolves with the address and port it listens on (port 0 picks a free one). */
export async function startRestServer(
  jobs: JobRegistry,
  options: RestServerOptions,
): Promise<{ app: RestServer; address: string; port: number }> {
  const app = createRestServer(jobs, options);
  const address = options.address ?? '127.0.0.1';
  try {
    await app.listen({ host: address, port: options.port ?? 8081 });
  } catch (cause) {
    throw new RestError(
      'FLOE_REST_LISTEN_FAILED',
      `the REST server cannot listen on ${address}:${options.port}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'pick another port with --rest-port N (0 picks a free one)',
      },
    );
  }
  const bound = app.server.address();
  return { app, address, port: typeof bound === 'object' && bound ? bound.port : (options.port ?? 8081) };
}
