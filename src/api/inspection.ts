// Live inspection of task actors: xstate's inspection protocol, filtered so it never floods.
// ws and @statelyai/inspect are loaded by createInspection, when an inspector URL is given: a run without --inspect starts without them
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import type WebSocket from 'ws';
import type { InspectionEvent } from 'xstate';
import { ConfigError } from '../errors.ts';

/** A callback receiving inspection events, or the websocket URL of an inspector (e.g. @statelyai/inspect's server). */
export type InspectOption = ((event: InspectionEvent) => void) | string | true;

export const DEFAULT_INSPECT_URL = 'ws://localhost:8080';

/** The protocols ws connects with. */
const INSPECTOR_PROTOCOLS = ['ws:', 'wss:', 'http:', 'https:', 'ws+unix:'];

/**
 * Refuses what is no websocket URL before a socket is made (ws throws a SyntaxError from deep in
 * the job's start). `9000` and `localhost:8080` are how Node's own --inspect is written: the hint
 * spells the URL they mean.
 */
export function checkInspectorUrl(url: string): string {
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // not a URL at all: a port, a path
  }
  if (protocol !== undefined && INSPECTOR_PROTOCOLS.includes(protocol)) return url;
  throw new ConfigError('FLOE_INSPECT_BAD_URL', `'${url}' is not an inspector URL: it needs to start with ws:// or wss://`, {
    hint: `write it as a websocket URL, e.g. --inspect=${meantUrl(url)}`,
  });
}

/** The websocket URL a port (`9000`) or a `host:port` stands for, as Node's --inspect reads them. */
function meantUrl(value: string): string {
  if (/^\d+$/.test(value)) return `ws://localhost:${value}`;
  if (/^[\w.-]+:\d+$/.test(value)) return `ws://${value}`;
  return DEFAULT_INSPECT_URL;
}

export interface InspectionOptions {
  /** the websocket inspector accepted the connection (again, after a reconnect): the CLI says so */
  onConnected?: (url: string) => void;
}

export interface Inspection {
  inspect: (event: InspectionEvent) => void;
  /** Delivers what is still buffered, then disconnects; resolves when done. */
  stop(): Promise<void>;
}

/** Events kept while the inspector is not connected yet; past this the newest are dropped (memory stays bounded). */
const MAX_PENDING = 10_000;
const RECONNECT_MS = 1000;
/** How long stop() waits for a connection still being opened, to deliver the buffered events. */
const STOP_GRACE_MS = 2000;

/**
 * Keeps actor registrations, events and snapshots; drops microsteps and action records, which
 * repeat what snapshots show. Data batches never reach the machines (they are not events), and
 * task metrics are sampled once a second, so the stream stays small whatever the throughput.
 */
export function isShown(event: InspectionEvent): boolean {
  return event.type === '@xstate.actor' || event.type === '@xstate.event' || event.type === '@xstate.snapshot';
}

/** JSON that survives cycles (xstate snapshots serialise through their toJSON; anything else cyclic is cut). */
function stringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    return v;
  });
}

/**
 * Sends @statelyai/inspect's events over one websocket. Unlike the package's own adapter it
 * never keeps the process alive (its reconnect timer is unref'd, it gives up on stop) and it
 * delivers what was buffered before closing, so the last states of a short job are not lost.
 */
class WebSocketAdapter {
  #ws: WebSocket | null = null;
  #pending: string[] = [];
  #stopped = false;
  #warned = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(
    readonly WebSocketClass: typeof WebSocket,
    readonly url: string,
    readonly onConnected: (url: string) => void = () => {},
  ) {}

  start(): void {
    if (this.#stopped) return;
    const ws = new this.WebSocketClass(this.url);
    this.#ws = ws;
    ws.on('open', () => {
      this.onConnected(this.url);
      this.#flush();
    });
    ws.on('error', (error) => {
      if (!this.#warned) {
        this.#warned = true;
        process.emitWarning(
          `cannot reach the inspector at ${this.url} (${error.message}); start one (floe inspector --port <port>) or pass --inspect=ws://host:port — retrying while the job runs`,
          { code: 'FLOE_INSPECTOR_UNREACHABLE' },
        );
      }
    });
    ws.on('close', () => {
      if (this.#ws !== ws || this.#stopped) return;
      this.#ws = null;
      this.#retry = setTimeout(() => this.start(), RECONNECT_MS).unref();
    });
  }

  send(event: StatelyInspectionEvent): void {
    const text = stringify(event);
    if (this.#ws?.readyState === this.WebSocketClass.OPEN) this.#ws.send(text);
    else if (this.#pending.length < MAX_PENDING) this.#pending.push(text);
  }

  #flush(): void {
    const ws = this.#ws!;
    for (const text of this.#pending) ws.send(text);
    this.#pending = [];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const ws = this.#ws;
    if (!ws) return;
    if (ws.readyState === this.WebSocketClass.CONNECTING) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_GRACE_MS);
        const done = () => (clearTimeout(timer), resolve());
        ws.once('open', done);
        ws.once('close', done);
      });
    }
    if (ws.readyState === this.WebSocketClass.OPEN) {
      this.#flush();
      // a close frame goes out after the queued messages: the inspector receives every event first
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'job ended');
      });
    } else {
      ws.terminate();
    }
  }
}

/** Keys of control messages and coordinator context that hold operator state (snapshot bytes, user values). */
const STATE_KEYS = new Set(['restore', 'state', 'channelState', 'latest', 'pending', 'finished', 'lastAcked', 'checkpoint']);

/**
 * What goes over the wire of an inspector: control messages and the coordinator's context without
 * the operator state they carry (a deploy's restore state, an acknowledgement's snapshot, completed
 * checkpoints) — megabytes of bytes per event otherwise. Each is replaced by a one-line summary.
 */
export function withoutState<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    if (!STATE_KEYS.has(k) || v === null || typeof v !== 'object') continue;
    out ??= { ...(value as Record<string, unknown>) };
    out[k] = summary(v as Record<string, unknown>);
  }
  return (out ?? value) as T;
}

function summary(v: Record<string, unknown>): string {
  if (typeof v.id === 'number') return `[checkpoint ${v.id}]`;
  if (typeof v.checkpointId === 'number') return `[state of checkpoint ${v.checkpointId}]`;
  return `[${Object.keys(v).length} entries]`;
}

export async function createInspection(option: InspectOption, options: InspectionOptions = {}): Promise<Inspection> {
  if (typeof option === 'function') {
    return { inspect: (e) => isShown(e) && option(e), stop: async () => {} };
  }
  const url = option === true ? DEFAULT_INSPECT_URL : checkInspectorUrl(option);
  const [{ createInspector }, { default: WebSocketClass }] = await Promise.all([import('@statelyai/inspect'), import('ws')]);
  const adapter = new WebSocketAdapter(WebSocketClass, url, options.onConnected);
  const inspector = createInspector(adapter, {
    filter: (e) => e.type !== '@xstate.event' || !String((e.event as { type?: string }).type).startsWith('xstate.'),
    sanitizeEvent: (event) => withoutState(event),
    sanitizeContext: (context) => withoutState(context),
  });
  inspector.start();
  return {
    inspect: (e) => {
      if (isShown(e)) inspector.inspect.next?.(e);
    },
    async stop() {
      // the inspector converts events on a zero timeout: let those already scheduled run first
      await new Promise((resolve) => setTimeout(resolve, 0));
      await adapter.stop();
    },
  };
}
