// Connecting to NATS for the JetStream connectors: options, a bounded retry at start, coded errors.
import { connect, type NatsConnection } from 'nats';
import { FloeError, JobDefinitionError } from '../errors.ts';
import { redactSecrets, redactUrl } from './redact-url.ts';

export interface NatsConnectionOptions {
  /** one URL or several (`nats://host:4222`); credentials may be in the URL or in `user`/`pass` */
  servers: string | string[];
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

/** Programmer mistakes in the options: plain TypeErrors, as elsewhere in floe. */
export function checkNatsOptions(what: string, options: NatsConnectionOptions): void {
  const list = Array.isArray(options?.servers) ? options.servers : [options?.servers];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new TypeError(`${what} needs servers: a NATS URL such as 'nats://127.0.0.1:4222' or a list of them`);
  }
}

/**
 * Connects, retrying a server that refuses for up to connectTimeoutMs (it may be starting), then
 * fails with FLOE_JETSTREAM_UNAVAILABLE. No reconnects once connected: a server that goes away
 * fails the task, and the restart strategy brings the job back from its checkpoint (the reader's
 * position is in the checkpoint, not in a consumer on the server).
 */
export async function connectNats(what: string, options: NatsConnectionOptions): Promise<NatsConnection> {
  const end = Date.now() + (options.connectTimeoutMs ?? 5000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect({
        servers: options.servers,
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
        throw new JobDefinitionError('FLOE_JETSTREAM_AUTH_FAILED', `${what} cannot log in to NATS at ${shownServers(options)}: ${message}`, {
          hint: 'check the user/pass or token given to the connector (or in the server URL)',
        });
      }
      if (Date.now() >= end) {
        throw new FloeError('FLOE_JETSTREAM_UNAVAILABLE', `${what} cannot connect to NATS at ${shownServers(options)} after ${attempt} attempts: ${message}`, {
          hint: 'start nats-server with JetStream (nats-server -js) or fix the servers option; the restart strategy retries the job',
        });
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
