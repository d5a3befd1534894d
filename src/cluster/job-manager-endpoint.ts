// The JobManager's cluster endpoint: TaskManagers register their slots here, heartbeats tell the lost ones.
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FloeError } from '../errors.ts';
import {
  CLUSTER_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  type JobManagerFrame,
  type TaskManagerFrame,
} from './cluster-frames.ts';

export interface RegisteredTaskManager {
  id: string;
  slots: number;
  /** its data address, host:port */
  data: string;
  pid: number;
  /** when it was last heard of (a frame or a heartbeat answer), ms */
  lastSeen: number;
  send(frame: JobManagerFrame): void;
}

export interface EndpointOptions {
  host?: string;
  port?: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** cluster.auth-token: required of every TaskManager when set */
  token?: string;
  /** serve on this (listening) HTTP server, the REST API's: TaskManagers reach the JobManager at its REST address */
  server?: Server;
}

export interface EndpointEvents {
  registered: [RegisteredTaskManager];
  lost: [RegisteredTaskManager, string];
  frame: [RegisteredTaskManager, TaskManagerFrame];
}

interface Connection extends RegisteredTaskManager {
  ws: WebSocket;
}

export class JobManagerEndpoint extends EventEmitter<EndpointEvents> {
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #tms = new Map<string, Connection>();
  #nextId = 1;
  #heartbeat: NodeJS.Timeout | undefined;
  address = '';

  constructor(readonly options: EndpointOptions) {
    super();
    this.#server = options.server ?? createServer((_, res) => res.writeHead(426).end('floe cluster endpoint: websocket only\n'));
    this.#wss = new WebSocketServer({ server: this.#server, path: '/taskmanager', maxPayload: MAX_FRAME_BYTES });
    this.#wss.on('connection', (ws) => this.#accept(ws));
  }

  async start(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    if (!this.options.server)
      await new Promise<void>((resolve, reject) => this.#server.once('error', reject).listen(this.options.port ?? 0, host, resolve));
    this.address = `${host}:${(this.#server.address() as AddressInfo).port}`;
    this.#heartbeat = setInterval(() => this.#beat(), this.options.heartbeatIntervalMs);
    this.#heartbeat.unref();
    return this.address;
  }

  get taskManagers(): RegisteredTaskManager[] {
    return [...this.#tms.values()];
  }

  get slots(): number {
    let n = 0;
    for (const tm of this.#tms.values()) n += tm.slots;
    return n;
  }

  /** Resolves once the registered TaskManagers hold `needed` slots; a coded error after `timeoutMs`. */
  waitForSlots(needed: number, timeoutMs: number): Promise<RegisteredTaskManager[]> {
    if (this.slots >= needed) return Promise.resolve(this.taskManagers);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.slots < needed) return;
        done();
        resolve(this.taskManagers);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new FloeError(
            'FLOE_NOT_ENOUGH_SLOTS',
            `the job needs ${needed} slots (its highest parallelism) but the cluster has ${this.slots} after waiting ${Math.round(timeoutMs / 1000)}s`,
            {
              hint: 'start more TaskManagers (floe taskmanager --jobmanager host:port --slots K), give them more slots, or lower the parallelism; slot.request.timeout sets the wait',
            },
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.off('registered', check);
      };
      this.on('registered', check);
    });
  }

  #accept(ws: WebSocket): void {
    let tm: Connection | null = null;
    ws.on('error', () => {});
    ws.on('pong', () => tm && (tm.lastSeen = Date.now()));
    ws.on('close', () => tm && this.#lose(tm, 'its connection closed'));
    ws.on('message', (raw: RawData) => {
      let frame: TaskManagerFrame;
      try {
        frame = decodeFrame<TaskManagerFrame>(raw as Buffer, 'tm');
      } catch (error) {
        // a malformed frame ends this connection only
        ws.close(1008, (error as FloeError).code ?? 'FLOE_CLUSTER_FRAME_INVALID');
        return;
      }
      if (tm) tm.lastSeen = Date.now();
      if (frame.k === 'register') {
        if (tm) return;
        const refusal = this.#refusal(frame);
        if (refusal) {
          ws.send(encodeFrame({ k: 'refused', ...refusal }));
          ws.close(1008, refusal.code);
          return;
        }
        const id = `tm-${this.#nextId++}`;
        tm = {
          id,
          slots: frame.slots,
          data: frame.data,
          pid: frame.pid,
          ws,
          lastSeen: Date.now(),
          send: (f) => ws.readyState === WebSocket.OPEN && ws.send(encodeFrame(f)),
        };
        this.#tms.set(id, tm);
        tm.send({ k: 'registered', id });
        this.emit('registered', tm);
        return;
      }
      if (!tm) {
        ws.close(1008, 'FLOE_CLUSTER_NOT_REGISTERED');
        return;
      }
      this.emit('frame', tm, frame);
    });
  }

  #refusal(frame: Extract<TaskManagerFrame, { k: 'register' }>): { code: string; message: string } | null {
    if (frame.version !== CLUSTER_PROTOCOL_VERSION)
      return {
        code: 'FLOE_CLUSTER_VERSION_MISMATCH',
        message: `a TaskManager of cluster protocol ${frame.version} cannot join a JobManager of protocol ${CLUSTER_PROTOCOL_VERSION}`,
      };
    if (this.options.token !== undefined && frame.token !== this.options.token)
      return { code: 'FLOE_CLUSTER_AUTH_FAILED', message: 'the TaskManager did not present the cluster.auth-token of this JobManager' };
    if (!Number.isInteger(frame.slots) || frame.slots < 1 || typeof frame.data !== 'string')
      return { code: 'FLOE_CLUSTER_FRAME_INVALID', message: 'a registration without slots or a data address' };
    return null;
  }

  #beat(): void {
    const now = Date.now();
    for (const tm of this.#tms.values()) {
      if (now - tm.lastSeen > this.options.heartbeatTimeoutMs) {
        tm.ws.terminate();
        this.#lose(tm, `no heartbeat for ${now - tm.lastSeen} ms (heartbeat.timeout ${this.options.heartbeatTimeoutMs} ms)`);
      } else if (tm.ws.readyState === WebSocket.OPEN) tm.ws.ping();
    }
  }

  #lose(tm: Connection, reason: string): void {
    if (this.#tms.get(tm.id) !== tm) return;
    this.#tms.delete(tm.id);
    this.emit('lost', tm, reason);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const tm of this.#tms.values()) tm.send({ k: 'shutdown' });
    for (const ws of this.#wss.clients) ws.close();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    if (this.options.server) return; // its owner closes it
    this.#server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
