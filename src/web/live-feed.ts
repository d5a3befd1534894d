// The dashboard's live websocket: each job's graph and every task actor's state and load, pushed twice a second while a page listens.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { JobClient } from '../api/job-client.ts';
import { metricsOf, vertexId } from '../server/job-views.ts';
import { timeMetrics } from '../server/vertex-views.ts';

export const LIVE_PATH = '/live';
/** Sampled, never per record: reading a few snapshots twice a second costs the run loop nothing measurable. */
const INTERVAL_MS = 500;

export type Load = 'idle' | 'busy' | 'backpressured';

export interface LiveSubtask {
  index: number;
  name: string;
  /** the task actor's state value (`{ running: 'processing' }`) */
  state: unknown;
  status: string;
  recordsIn: number;
  recordsOut: number;
  /** Flink's busyTimeMsPerSecond, backPressuredTimeMsPerSecond, idleTimeMsPerSecond, measured in the run loop */
  busy: number;
  backPressured: number;
  idle: number;
  load: Load;
  /** floe: the TaskManager the subtask runs in (its state and metrics relayed to the JobManager); absent: this process */
  taskManager?: string;
}

export interface LiveVertex {
  id: string;
  name: string;
  parallelism: number;
  uids: string[];
  inputs: { source: string; partitioning: string }[];
  subtasks: LiveSubtask[];
}

export interface LiveJob {
  jid: string;
  name: string;
  status: string;
  vertices: LiveVertex[];
}

/** A subtask is as loaded as the larger of its busy and backpressured time, past 10% of a second (Flink's `ok` threshold). */
export function loadOf(t: { busy: number; backPressured: number }): Load {
  if (t.backPressured > 100 && t.backPressured >= t.busy) return 'backpressured';
  return t.busy > 100 ? 'busy' : 'idle';
}

export class LiveSampler {
  sample(client: JobClient): LiveJob {
    const tasks = client.master.execution?.subtaskViews() ?? [];
    return {
      jid: client.jobId,
      name: client.jobName,
      status: client.getJobStatus(),
      vertices: client.master.graph.vertices.map((v) => ({
        // the REST API's vertex id (32 hex), so the page can link both
        id: vertexId(client.jobId, v),
        name: v.name,
        parallelism: v.parallelism,
        uids: v.chain.map((t) => t.uid ?? t.name),
        inputs: v.inputs.map((e) => ({ source: vertexId(client.jobId, e.source), partitioning: e.partitioning.type })),
        subtasks: tasks
          .filter((t) => t.id.vertexId === v.id)
          .map((t) => {
            const metrics = metricsOf(client, t);
            const time = timeMetrics(client, t);
            return {
              index: t.id.subtaskIndex,
              name: t.name,
              state: t.value,
              status: t.status,
              recordsIn: metrics?.recordsIn ?? 0,
              recordsOut: metrics?.recordsOut ?? 0,
              ...time,
              load: loadOf(time),
              ...(t.taskManager !== null ? { taskManager: t.taskManager } : {}),
            };
          }),
      })),
    };
  }
}

function sameToken(given: string | null, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface LiveFeed {
  close(): void;
  /** pages listening now */
  readonly listeners: number;
}

/**
 * Takes websocket upgrades on `LIVE_PATH` of the REST server. With a REST token (a server off
 * loopback) a page must send it, as `?token=`, as every mutating request must (browsers cannot set
 * headers on a websocket).
 */
/** A page of another origin (websockets know no CORS: without this check any site could read the feed from a browser on this host). */
function foreignOrigin(req: IncomingMessage, allowed: string[]): string | undefined {
  const origin = req.headers.origin;
  if (!origin || allowed.includes('*') || allowed.includes(origin)) return undefined;
  try {
    return new URL(origin).host === req.headers.host ? undefined : origin;
  } catch {
    return origin;
  }
}

export interface LiveFeedOptions {
  authToken?: string;
  corsAllowedOrigins?: string[];
  /** the REST server's Host rule (on loopback only loopback names: DNS rebinding would make a remote page same-origin) */
  allowHost?: (host: string | undefined) => boolean;
}

export function attachLiveFeed(server: Server, jobs: { list(): JobClient[] }, options: LiveFeedOptions = {}): LiveFeed {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const sampler = new LiveSampler();
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    if (wss.clients.size === 0) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    const text = JSON.stringify({ type: 'floe.live', now: Date.now(), jobs: jobs.list().map((j) => sampler.sample(j)) });
    for (const ws of wss.clients) if (ws.bufferedAmount < 1 << 20) ws.send(text); // a stalled page skips samples, never piles them up
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== LIVE_PATH) return; // another upgrade handler's (or none: the socket times out as before)
    if (options.allowHost && !options.allowHost(req.headers.host)) {
      socket.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nthis server answers only requests for a loopback host\n',
      );
      return;
    }
    const foreign = foreignOrigin(req, options.corsAllowedOrigins ?? []);
    if (foreign) {
      socket.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\na page from ${foreign} may not read the live feed (rest.cors.allowed-origins)\n`,
      );
      return;
    }
    if (options.authToken && !sameToken(url.searchParams.get('token'), options.authToken)) {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nthe live feed needs the REST token: ?token=<rest.auth-token>\n',
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => {});
      wss.emit('connection', ws, req);
      tick();
      timer ??= setInterval(tick, INTERVAL_MS).unref();
    });
  };
  server.on('upgrade', onUpgrade);
  return {
    get listeners() {
      return wss.clients.size;
    },
    close() {
      server.off('upgrade', onUpgrade);
      clearInterval(timer);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
