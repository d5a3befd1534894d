// The dashboard's live websocket: each job's graph and every task actor's state and load, pushed twice a second while a page listens.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { JobClient } from '../api/job-client.ts';

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
  load: Load;
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

interface Sample { recordsIn: number; recordsOut: number }

/** Records moved since the last look tell busy from idle; the task's own flag says backpressured (its output waited for credit). */
function loadOf(previous: Sample | undefined, now: Sample, backpressured: boolean): Load {
  if (backpressured) return 'backpressured';
  if (previous && (now.recordsIn > previous.recordsIn || now.recordsOut > previous.recordsOut)) return 'busy';
  return 'idle';
}

export class LiveSampler {
  readonly #previous = new WeakMap<object, Sample>();

  sample(client: JobClient): LiveJob {
    const tasks = client.master.execution?.tasks ?? [];
    return {
      jid: client.jobId,
      name: client.jobName,
      status: client.getJobStatus(),
      vertices: client.master.graph.vertices.map((v) => ({
        id: v.id,
        name: v.name,
        parallelism: v.parallelism,
        uids: v.chain.map((t) => t.uid ?? t.name),
        inputs: v.inputs.map((e) => ({ source: e.source.id, partitioning: e.partitioning.type })),
        subtasks: tasks
          .filter((t) => t.id.vertexId === v.id)
          .map((t) => {
            const snapshot = t.actor.getSnapshot();
            const metrics = snapshot.context.metrics ?? { recordsIn: 0, recordsOut: 0, backpressured: false };
            const now = { recordsIn: metrics.recordsIn, recordsOut: metrics.recordsOut };
            const load = loadOf(this.#previous.get(t), now, metrics.backpressured);
            this.#previous.set(t, now);
            return { index: t.id.subtaskIndex, name: t.name, state: snapshot.value, status: snapshot.status, ...now, load };
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
export function attachLiveFeed(server: Server, jobs: { list(): JobClient[] }, options: { authToken?: string } = {}): LiveFeed {
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
    if (options.authToken && !sameToken(url.searchParams.get('token'), options.authToken)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nthe live feed needs the REST token: ?token=<rest.auth-token>\n');
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
