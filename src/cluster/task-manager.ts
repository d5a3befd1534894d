// A TaskManager: registers its slots with the JobManager, runs the subtasks deployed to it, exchanges data with its peers.
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { createStateBackend } from '../backends/state-backend-registry.ts';
import { DEFAULT_LEVEL_LOCAL_DIR } from '../backends/level-keyed-backend.ts';
import type { StateBackend } from '../backends/types.ts';
import { serializeError } from '../checkpoint/serialized-error.ts';
import type { Configuration } from '../config/configuration.ts';
import { FloeError, isErrorCode } from '../errors.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { createCheckpointStorage } from '../storage/checkpoint-storage-factory.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import {
  CLUSTER_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  type AttemptDeployment,
  type DataFrame,
  type JobManagerFrame,
  type TaskManagerFrame,
} from './cluster-frames.ts';
import type { RelayedInspection } from './relayed-inspection.ts';
import { TaskManagerAttempt } from './task-manager-attempt.ts';

/** Builds a job's graph from its file with the JobManager's configuration (the CLI's loader: the job file runs here too). */
export type JobLoader = (jobFile: string, config: Record<string, unknown>) => Promise<{ graph: JobGraph; config: Configuration }>;

export interface TaskManagerOptions {
  /** the JobManager's cluster address, host:port */
  jobManager: string;
  slots: number;
  loadJob: JobLoader;
  /** where the data port listens (loopback unless told otherwise) */
  host?: string;
  token?: string;
}

interface LoadedJob {
  graph: JobGraph;
  config: Configuration;
  backend: StateBackend;
  storage: CheckpointStorage;
}

interface Peer {
  ws: WebSocket | null;
  waiting: Uint8Array[];
}

export interface TaskManagerEvents {
  registered: [string];
  /** the connection to the JobManager closed: a TaskManager without one has nothing to do */
  disconnected: [string];
}

export class TaskManager extends EventEmitter<TaskManagerEvents> {
  id = '';
  #jm: WebSocket | null = null;
  #data: WebSocketServer | null = null;
  #attempt: TaskManagerAttempt | null = null;
  readonly #jobs = new Map<string, Promise<LoadedJob>>();
  readonly #peers = new Map<string, Peer>();
  /** credit frames of an attempt not deployed here yet (a peer was faster) */
  readonly #early = new Map<number, Array<[string, number]>>();
  /** frames from the JobManager run one after another (a deploy loads the job first) */
  #queue: Promise<void> = Promise.resolve();

  constructor(readonly options: TaskManagerOptions) {
    super();
  }

  /** Opens the data port, connects and registers; resolves with this TaskManager's id. */
  async start(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    this.#data = new WebSocketServer({ host, port: 0, maxPayload: MAX_FRAME_BYTES });
    await new Promise<void>((resolve, reject) => this.#data!.once('listening', resolve).once('error', reject));
    this.#data.on('connection', (ws) => this.#acceptPeer(ws));
    const dataAddress = `${host}:${(this.#data.address() as AddressInfo).port}`;
    const jm = (this.#jm = new WebSocket(`ws://${this.options.jobManager}/taskmanager`, { maxPayload: MAX_FRAME_BYTES }));
    return new Promise((resolve, reject) => {
      jm.once('open', () =>
        this.#sendJm({
          k: 'register',
          version: CLUSTER_PROTOCOL_VERSION,
          slots: this.options.slots,
          data: dataAddress,
          pid: process.pid,
          ...(this.options.token ? { token: this.options.token } : {}),
        }),
      );
      jm.once('error', (cause) =>
        reject(
          new FloeError('FLOE_JOBMANAGER_UNREACHABLE', `cannot reach the JobManager at ${this.options.jobManager}: ${cause.message}`, {
            cause,
            hint: 'pass the address `floe jobmanager` printed (its REST address), e.g. --jobmanager 127.0.0.1:8081',
          }),
        ),
      );
      jm.on('close', (code, reason) => this.emit('disconnected', `${code} ${reason.toString()}`));
      jm.on('message', (raw: RawData) => {
        let frame: JobManagerFrame;
        try {
          frame = decodeFrame<JobManagerFrame>(toBytes(raw), 'jm');
        } catch {
          jm.close(1008, 'FLOE_CLUSTER_FRAME_INVALID');
          return;
        }
        if (frame.k === 'registered') {
          this.id = frame.id;
          this.emit('registered', frame.id);
          resolve(frame.id);
        } else if (frame.k === 'refused') {
          reject(
            new FloeError(
              isErrorCode(frame.code) ? frame.code : 'FLOE_CLUSTER_FRAME_INVALID',
              `the JobManager refused this TaskManager: ${frame.message}`,
              {
                hint:
                  frame.code === 'FLOE_CLUSTER_AUTH_FAILED'
                    ? "give the TaskManager the JobManager's token: -D cluster.auth-token=..."
                    : 'run the same floe version on the JobManager and every TaskManager',
              },
            ),
          );
        } else {
          this.#queue = this.#queue.then(() => this.#onJobManager(frame)).catch(() => {});
        }
      });
    });
  }

  #sendJm(frame: TaskManagerFrame): void {
    if (this.#jm?.readyState === WebSocket.OPEN) this.#jm.send(encodeFrame(frame));
  }

  async #onJobManager(frame: JobManagerFrame): Promise<void> {
    if (process.env.FLOE_DEBUG_CLUSTER)
      process.stderr.write(`[${this.id}] jm ${frame.k} ${frame.k === 'ctl' ? `${frame.to} ${frame.m.type}` : ''}\n`);
    switch (frame.k) {
      case 'deploy':
        return this.#deploy(frame.deployment);
      case 'ctl': {
        const attempt = this.#attempt;
        if (attempt && attempt.setup.attempt === frame.m.attempt) attempt.deliver(frame.to, frame.m);
        return;
      }
      case 'cancel-attempt': {
        const attempt = this.#attempt;
        if (attempt && attempt.setup.attempt === frame.attempt) {
          this.#attempt = null;
          await attempt.cancel().catch(() => {});
        }
        this.#sendJm({ k: 'attempt-stopped', attempt: frame.attempt });
        return;
      }
      case 'end-job': {
        const job = this.#jobs.get(frame.jobId);
        this.#jobs.delete(frame.jobId);
        this.#attempt?.dispose();
        this.#attempt = null;
        await job?.then((j) => j.backend.releaseJob?.(frame.jobId)).catch(() => {});
        return;
      }
      case 'shutdown':
        await this.close();
        return;
    }
  }

  async #deploy(d: AttemptDeployment): Promise<void> {
    try {
      if (this.#attempt) await this.#attempt.cancel();
      const job = await this.#load(d);
      const { config } = job;
      for (const [id, address] of Object.entries(d.peers)) if (id !== this.id && !this.#peers.has(id)) this.#connectPeer(id, address);
      const attempt = new TaskManagerAttempt({
        jobId: d.jobId,
        attempt: d.attempt,
        graph: job.graph,
        placement: d.placement,
        self: this.id,
        mode: config.get('execution.checkpointing.mode'),
        checkpointingEnabled: (config.get('execution.checkpointing.interval') ?? 0) > 0,
        batchSize: config.get('taskmanager.network.batch-size'),
        autoWatermarkInterval: config.get('pipeline.auto-watermark-interval'),
        buffersPerChannel: config.get('taskmanager.network.memory.buffers-per-channel'),
        backend: job.backend,
        storage: job.storage,
        control: (to, m) => {
          if (process.env.FLOE_DEBUG_CLUSTER)
            process.stderr.write(
              `[${this.id}] -> ${to} ${m.type} ${'subtask' in m ? JSON.stringify(m.subtask) : ''} ${'state' in m && typeof m.state === 'string' ? m.state : ''}\n`,
            );
          this.#sendJm({ k: 'ctl', to, m });
        },
        data: (peer, frame) => this.#sendPeer(peer, { ...frame, a: d.attempt }),
        view: (v) => this.#sendJm({ k: 'task', a: d.attempt, v }),
        ...(d.inspect ? { inspect: (e: RelayedInspection) => this.#sendJm({ k: 'inspect', a: d.attempt, e }) } : {}),
      });
      this.#attempt = attempt;
      attempt.start();
      for (const [ch, n] of this.#early.get(d.attempt) ?? []) attempt.credit(ch, n);
      for (const a of this.#early.keys()) if (a <= d.attempt) this.#early.delete(a);
    } catch (error) {
      this.#sendJm({ k: 'attempt-failed', attempt: d.attempt, error: serializeError(error) });
    }
  }

  #load(d: AttemptDeployment): Promise<LoadedJob> {
    let job = this.#jobs.get(d.jobId);
    if (!job) {
      job = (async () => {
        const { graph, config } = await this.options.loadJob(d.jobFile, d.config);
        const type = config.get('state.backend.type');
        // each TaskManager its own working directories, also when several run on one host
        const localDir = join(config.get('state.backend.level.localdir') ?? DEFAULT_LEVEL_LOCAL_DIR, `tm-${process.pid}`);
        const backend = createStateBackend(type, {
          incremental: config.get('execution.checkpointing.incremental'),
          localDir,
          materializationInterval: config.get('state.backend.incremental.materialization-interval'),
          cacheBytes: config.get('state.backend.level.cache-size'),
        });
        await backend.prepareJob?.(d.jobId);
        const storage = await createCheckpointStorage(config, d.jobId, type !== 'memory');
        return { graph, config, backend, storage };
      })();
      this.#jobs.set(d.jobId, job);
      job.catch(() => this.#jobs.delete(d.jobId));
    }
    return job;
  }

  // ---- the data plane: one websocket per pair of TaskManagers ----

  #peer(id: string): Peer {
    let peer = this.#peers.get(id);
    if (!peer) this.#peers.set(id, (peer = { ws: null, waiting: [] }));
    return peer;
  }

  /** The TaskManager whose id sorts first dials; the other waits for its hello. */
  #connectPeer(id: string, address: string): void {
    const peer = this.#peer(id);
    if (this.id > id) return;
    const ws = new WebSocket(`ws://${address}/data`, { maxPayload: MAX_FRAME_BYTES });
    ws.on('open', () => {
      ws.send(encodeFrame({ k: 'hello', id: this.id, version: CLUSTER_PROTOCOL_VERSION }));
      this.#attach(id, peer, ws);
    });
    ws.on('error', () => {});
    ws.on('message', (raw: RawData) => this.#onData(ws, raw));
  }

  #acceptPeer(ws: WebSocket): void {
    ws.on('error', () => {});
    ws.once('message', (raw: RawData) => {
      let hello: DataFrame;
      try {
        hello = decodeFrame<DataFrame>(toBytes(raw), 'data');
      } catch {
        ws.close(1008, 'FLOE_CLUSTER_FRAME_INVALID');
        return;
      }
      if (hello.k !== 'hello' || hello.version !== CLUSTER_PROTOCOL_VERSION) {
        ws.close(1008, 'FLOE_CLUSTER_FRAME_INVALID');
        return;
      }
      this.#attach(hello.id, this.#peer(hello.id), ws);
      ws.on('message', (r: RawData) => this.#onData(ws, r));
    });
  }

  #attach(id: string, peer: Peer, ws: WebSocket): void {
    peer.ws = ws;
    for (const bytes of peer.waiting) ws.send(bytes);
    peer.waiting = [];
    ws.on('close', () => {
      if (this.#peers.get(id) === peer) this.#peers.delete(id);
    });
  }

  #sendPeer(id: string, frame: DataFrame): void {
    const bytes = encodeFrame(frame);
    const peer = this.#peer(id);
    if (peer.ws?.readyState === WebSocket.OPEN) peer.ws.send(bytes);
    else peer.waiting.push(bytes);
  }

  #onData(ws: WebSocket, raw: RawData): void {
    let frame: DataFrame;
    try {
      frame = decodeFrame<DataFrame>(toBytes(raw), 'data');
    } catch {
      ws.close(1008, 'FLOE_CLUSTER_FRAME_INVALID');
      return;
    }
    const attempt = this.#attempt;
    if (frame.k === 'msg') {
      if (attempt && attempt.setup.attempt === frame.a) attempt.receive(frame.ch, frame.m);
    } else if (frame.k === 'credit') {
      if (attempt && attempt.setup.attempt === frame.a) attempt.credit(frame.ch, frame.n);
      else if (!attempt || frame.a > attempt.setup.attempt) {
        const early = this.#early.get(frame.a) ?? [];
        early.push([frame.ch, frame.n]);
        this.#early.set(frame.a, early);
      }
    }
  }

  async close(): Promise<void> {
    const attempt = this.#attempt;
    this.#attempt = null;
    await attempt?.cancel().catch(() => {});
    for (const peer of this.#peers.values()) peer.ws?.close();
    this.#jm?.close();
    await new Promise<void>((resolve) => (this.#data ? this.#data.close(() => resolve()) : resolve()));
  }
}

function toBytes(raw: RawData): Uint8Array {
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw;
}
