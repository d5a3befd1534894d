// `floe inspector`: a self-hosted xstate inspector that takes @statelyai/inspect's websocket protocol and shows it in a page.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { RestError } from '../errors.ts';
import { readAsset } from './static-assets.ts';

/** Browser pages subscribe here; every other websocket path is an app reporting its actors. */
export const VIEWER_PATH = '/viewer';

/** Events kept for pages that open later; actors' registrations and latest snapshots are kept apart, so a long run never drops an actor. */
const MAX_EVENTS = 2000;
/** A message larger than this is no inspection event floe can show; the sender is told so by a close. */
const MAX_MESSAGE = 4 * 1024 * 1024;

interface InspectionRecord {
  type: string;
  sessionId?: string;
  snapshot?: unknown;
  [key: string]: unknown;
}

/** What the inspector has seen: each actor (registration with its latest snapshot), and the recent events. */
export class InspectionLog {
  readonly actors = new Map<string, InspectionRecord>();
  readonly events: InspectionRecord[] = [];

  add(record: InspectionRecord): void {
    const id = record.sessionId;
    if (typeof id !== 'string') return;
    if (record.type === '@xstate.actor') this.actors.set(id, record);
    else if (record.type === '@xstate.snapshot') {
      const actor = this.actors.get(id);
      if (actor) actor.snapshot = record.snapshot;
      else this.actors.set(id, { ...record, type: '@xstate.actor', name: id });
    } else if (record.type === '@xstate.event') {
      this.events.push(record);
      if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    }
  }

  /** What a page that opens now receives first, in the order it would have seen it live. */
  replay(): InspectionRecord[] {
    return [...this.actors.values(), ...this.events];
  }
}

export interface InspectorServer {
  server: Server;
  port: number;
  address: string;
  log: InspectionLog;
  close(): Promise<void>;
}

async function serveFile(res: ServerResponse, name: string): Promise<void> {
  const asset = await readAsset(name);
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' }).end(asset.body);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const name = path === '/' ? 'inspector.html' : path.startsWith('/assets/') ? path.slice('/assets/'.length) : '';
  serveFile(res, name).catch(() => res.writeHead(500).end());
}

/** A request without Origin (no browser) or from a page served by this inspector. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Starts the inspector on loopback (by default): apps connect with createWebSocketInspector({ url:
 * 'ws://127.0.0.1:<port>' }) (or `floe run --inspect`), pages open http://127.0.0.1:<port>/.
 */
export async function startInspectorServer(options: { port?: number; address?: string } = {}): Promise<InspectorServer> {
  const address = options.address ?? '127.0.0.1';
  const log = new InspectionLog();
  const viewers = new Set<WebSocket>();
  const server = createServer(handle);
  const wss = new WebSocketServer({ server, maxPayload: MAX_MESSAGE });
  // ws re-emits the server's errors (a busy port): the listen below reports them
  wss.on('error', () => {});
  wss.on('connection', (ws, req) => {
    ws.on('error', () => {});
    if (new URL(req.url ?? '/', 'http://x').pathname === VIEWER_PATH) {
      // only the inspector's own page reads the stream (websockets know no CORS: another site's page could otherwise
      // read every actor's context); apps of any origin may report
      if (!sameOrigin(req)) {
        ws.close(1008, 'the inspector stream is for the inspector page only');
        return;
      }
      viewers.add(ws);
      ws.on('close', () => viewers.delete(ws));
      ws.send(JSON.stringify({ type: 'floe.replay', records: log.replay() }));
      return;
    }
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let record: InspectionRecord;
      try {
        record = JSON.parse(data.toString());
      } catch {
        return; // not an inspection event: nothing to show
      }
      if (typeof record !== 'object' || record === null || typeof record.type !== 'string') return;
      log.add(record);
      const text = JSON.stringify(record);
      for (const viewer of viewers) viewer.send(text);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8080, address, () => resolve());
    });
  } catch (cause) {
    wss.close();
    throw new RestError(
      'FLOE_INSPECTOR_LISTEN_FAILED',
      `the inspector cannot listen on ${address}:${options.port ?? 8080}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'pick another port with --port N (0 picks a free one), and pass its URL to the app (floe run --inspect=ws://127.0.0.1:N)',
      },
    );
  }
  const bound = server.address();
  return {
    server,
    address,
    port: typeof bound === 'object' && bound ? bound.port : (options.port ?? 8080),
    log,
    async close() {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
