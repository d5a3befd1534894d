// Connecting to NATS for the JetStream connectors: options, a bounded retry at start, coded errors.
import type { NatsConnection } from 'nats';
import type { Configuration } from '../config/configuration.ts';
import { FloeError, JobDefinitionError } from '../errors.ts';
import { redactSecrets, redactUrl } from './redact-url.ts';

export interface NatsConnectionOptions {
  /**
   * one URL or several (`nats://host:4222`); credentials may be in the URL or in `user`/`pass`.
   * Left out: `-D connector.nats.servers=...` (and connector.nats.user / connector.nats.password).
   */
  servers?: string | string[];
  user?: string;
  pass?: string;
  token?: string;
  /** how long to keep retrying a server that is down at start before failing; default 5000 ms */
  connectTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The servers as shown in messages (passwords masked). */
export function shownServers(options: NatsConnectionOptions): string {
  const list = Array.isArray(options.servers) ? options.servers : [options.servers];
  return redactSecrets(redactUrl(list.join(',')), [options.pass, options.token]);
}

/** Programmer mistakes in the options: plain TypeErrors, as elsewhere in floe. Servers may come later, from the configuration. */
export function checkNatsOptions(what: string, options: NatsConnectionOptions): void {
  if (options === null || typeof options !== 'object') throw new TypeError(`${what} needs options: { servers, ... }`);
  if (options.servers === undefined) return;
  const list = Array.isArray(options.servers) ? options.servers : [options.servers];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new TypeError(`${what} needs servers: a NATS URL such as 'nats://127.0.0.1:4222' or a list of them`);
  }
}

/** Fills what the options leave out from -D connector.nats.* keys. */
export function configureNats(options: NatsConnectionOptions, config: Configuration): void {
  const servers = config.get('connector.nats.servers');
  if (options.servers === undefined && servers)
    options.servers = servers
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  options.user ??= config.get('connector.nats.user');
  options.pass ??= config.get('connector.nats.password');
  if (options.user === undefined) delete options.user;
  if (options.pass === undefined) delete options.pass;
}

/** FLOE_JETSTREAM_NO_SERVERS unless the options or the configuration named the servers. */
export function requireServers(what: string, options: NatsConnectionOptions): void {
  if (options.servers !== undefined) return;
  throw new JobDefinitionError('FLOE_JETSTREAM_NO_SERVERS', `${what} has no NATS servers to connect to`, {
    hint: "give it servers: 'nats://host:4222', or run the job with -D connector.nats.servers=nats://host:4222",
  });
}

/**
 * Connects, retrying a server that refuses for up to connectTimeoutMs (it may be starting), then
 * fails with FLOE_JETSTREAM_UNAVAILABLE. No reconnects once connected: a server that goes away
 * fails the task, and the restart strategy brings the job back from its checkpoint (the reader's
 * position is in the checkpoint, not in a consumer on the server).
 */
export async function connectNats(what: string, options: NatsConnectionOptions): Promise<NatsConnection> {
  // loaded when a job connects: importing nats costs every job's start-up (it is exported from floe's index)
  const { connect } = await import('nats');
  const end = Date.now() + (options.connectTimeoutMs ?? 5000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect({
        servers: options.servers!,
        ...(options.user !== undefined ? { user: options.user } : {}),
        ...(options.pass !== undefined ? { pass: options.pass } : {}),
        ...(options.token !== undefined ? { token: options.token } : {}),
        reconnect: false,
        timeout: 2000,
        name: `floe ${what}`,
      });
    } catch (error) {
      const message = redactSecrets(redactUrl((error as Error).message), [options.pass, options.token]);
      if (/authoriz|authentic/i.test(message)) {
        throw new JobDefinitionError(
          'FLOE_JETSTREAM_AUTH_FAILED',
          `${what} cannot log in to NATS at ${shownServers(options)}: ${message}`,
          {
            hint: 'check the user/pass or token given to the connector (or in the server URL)',
          },
        );
      }
      if (Date.now() >= end) {
        throw new FloeError(
          'FLOE_JETSTREAM_UNAVAILABLE',
          `${what} cannot connect to NATS at ${shownServers(options)} after ${attempt} attempts: ${message}`,
          {
            hint: 'start nats-server with JetStream (nats-server -js) or fix the servers option; the restart strategy retries the job',
          },
        );
      }
      await sleep(Math.min(200 * attempt, 1000));
    }
  }
}

/** FLOE_JETSTREAM_CONNECTION_LOST: the server went away while the job ran. */
export function connectionLost(what: string, options: NatsConnectionOptions, cause?: unknown): FloeError {
  return new FloeError('FLOE_JETSTREAM_CONNECTION_LOST', `${what} lost its connection to NATS at ${shownServers(options)}`, {
    cause,
    hint: 'the restart strategy brings the job back from its last checkpoint once the server is reachable again',
  });
}
