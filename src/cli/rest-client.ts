// The CLI's side of the REST API: finds the server (-m host:port), sends requests, turns errors into RestErrors with the server's codes.
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrorCode, RestError } from '../errors.ts';
import { cliHint, type CliTerms } from './cli-hints.ts';

export interface RemoteOptions {
  jobmanager?: string;
  token?: string;
}

export const DEFAULT_JOBMANAGER = '127.0.0.1:8081';

// The parts of the REST API's responses the CLI reads (the full shapes: src/server/rest-schemas.ts)
/** GET /jobs/overview */
export interface JobsOverviewResponse {
  jobs: Array<{ jid: string; name: string; state: string; 'start-time': number }>;
}
/** GET /jobs/:jobid */
export interface JobDetailsResponse {
  jid: string;
  state: string;
  vertices: Array<{ id: string; name: string; parallelism: number }>;
}
/** GET /jobs/:jobid/checkpoints */
export interface CheckpointsResponse {
  counts: { completed: number; failed: number; in_progress: number; restored: number; total: number };
  history: Array<{
    id: number;
    status: string;
    checkpoint_type: string;
    end_to_end_duration: number;
    state_size: number;
    max_alignment_duration: number;
    failure_message?: string | null;
  }>;
}
/** GET /jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid */
export interface SubtaskCheckpointsResponse {
  subtasks: Array<
    | {
        index: number;
        status: 'completed';
        name: string;
        state_size: number;
        start_delay: number;
        checkpoint: { sync: number; async: number };
        alignment: { duration: number };
      }
    | { index: number; status: 'pending_or_failed'; name: string }
  >;
}
/** POST .../savepoints, .../stop, PATCH ?mode=stop, POST /savepoint-disposal */
export interface TriggerResponse {
  'request-id': string;
}

export class RestClient {
  readonly base: string;
  readonly #token: string | undefined;
  readonly #terms: CliTerms;

  /** `terms`: what the calling command's hints need (the target it named, the command again with one) */
  constructor(options: RemoteOptions, terms: Omit<CliTerms, 'jobmanager'> = {}) {
    // an empty variable counts as unset
    const target = options.jobmanager ?? (process.env.FLOE_JOBMANAGER || DEFAULT_JOBMANAGER);
    this.base = /^https?:\/\//.test(target) ? target.replace(/\/$/, '') : `http://${target}`;
    this.#token = options.token ?? (process.env.FLOE_REST_TOKEN || undefined);
    this.#terms = { ...terms, jobmanager: options.jobmanager };
  }

  /** The hint for an error the server answered with: in CLI terms where the CLI knows the code, else the server's. */
  #hint(code: string, serverHint: string | undefined): string | undefined {
    return cliHint(code, this.#terms) ?? serverHint;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (cause) {
      throw new RestError(
        'FLOE_REST_UNREACHABLE',
        `cannot reach the floe REST API at ${this.base}: ${((cause as Error).cause as Error | undefined)?.message ?? (cause as Error).message}`,
        {
          cause,
          hint: 'is `floe run` running? point the CLI at it with -m host:port (it prints the port when it starts)',
        },
      );
    }
    const text = await response.text();
    let json: Record<string, unknown>;
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new RestError(
        'FLOE_REST_NOT_FLOE',
        `${this.base} answered ${method} ${path} with HTTP ${response.status} and a body that is not JSON: it is not a floe REST API`,
        {
          hint: 'point -m at the address `floe run` printed when it started ("REST API listening on ...")',
        },
      );
    }
    if (!response.ok) {
      const errors = (json.errors as string[] | undefined) ?? [response.statusText];
      // a code this floe does not know (another version's) is kept in the message
      const code = isErrorCode(json.code) ? json.code : 'FLOE_REST_ERROR';
      const message =
        errors.join('; ') +
        (code === json.code ? '' : ` (HTTP ${response.status}${typeof json.code === 'string' ? `, ${json.code}` : ''})`);
      throw new RestError(code, message, { hint: this.#hint(code, json.hint as string | undefined) });
    }
    return json as T;
  }

  /** Polls an asynchronous savepoint operation until it completes; resolves with the savepoint path. */
  async awaitSavepoint(jobId: string, requestId: string): Promise<string> {
    for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
      const state = await this.request<{
        status: { id: string };
        operation?: { location?: string; 'failure-cause'?: { code: string; message: string; hint?: string } };
      }>('GET', `/jobs/${encodeURIComponent(jobId)}/savepoints/${requestId}`);
      if (state.status.id === 'COMPLETED') {
        const failure = state.operation?.['failure-cause'];
        if (failure)
          throw new RestError(isErrorCode(failure.code) ? failure.code : 'FLOE_REST_ERROR', failure.message, {
            hint: this.#hint(failure.code, failure.hint),
          });
        return state.operation!.location!;
      }
      await sleep(delay);
    }
  }
}

export function addRemoteOptions<C extends { option(flags: string, description: string): C }>(command: C): C {
  return command
    .option(
      '-m, --jobmanager <host:port>',
      `REST address of the floe run serving the job (default $FLOE_JOBMANAGER or ${DEFAULT_JOBMANAGER})`,
    )
    .option('--token <token>', 'rest.auth-token of the server, for stop/cancel/savepoint (default $FLOE_REST_TOKEN)');
}
