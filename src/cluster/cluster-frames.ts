// The frames of floe's cluster websockets: TaskManager <-> JobManager (control) and TaskManager <-> TaskManager (data), one codec.
// msgpackr's full entry: its native string extraction for the frames decoded (the codec loads msgpackr/pack)
import 'msgpackr';
import { packStateValue, valuePackr } from '../checkpoint/state-value-codec.ts';
import type { ChannelMessage } from '../actors/types.ts';
import { fromWireBatch, toWireBatch, type WrappedBatch } from '../actors/wire-batch.ts';
import { CONTROL_MESSAGE_TYPES, type FromTaskMessage, type ToTaskMessage } from '../checkpoint/control-messages.ts';
import { FloeError } from '../errors.ts';
import type { RelayedInspection } from './relayed-inspection.ts';

/** A TaskManager of another version is refused: frames and the control protocol must match. */
export const CLUSTER_PROTOCOL_VERSION = 1;
/** frames larger than this close the connection (a batch of 512 records is far below it) */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** What a TaskManager must know to run its part of one attempt. */
export interface AttemptDeployment {
  jobId: string;
  /** the job file, read by every TaskManager (the same checkout on every host) */
  jobFile: string;
  /** the job's configuration entries as the JobManager parsed them */
  config: Record<string, unknown>;
  attempt: number;
  /** subtask key (vertex#index) -> TaskManager id */
  placement: Record<string, string>;
  /** TaskManager id -> its data address (host:port) */
  peers: Record<string, string>;
  /** the job is inspected (--inspect): relay the task actors' inspection events */
  inspect?: boolean;
}

/** A remote task's state as the JobManager's views show it (sent when its state value changes, or its backpressure). */
export interface TaskViewUpdate {
  /** subtask key, vertex#index */
  key: string;
  value: unknown;
  status: string;
  backPressured: boolean;
}

export type TaskManagerFrame =
  | { k: 'register'; version: number; slots: number; data: string; pid: number; token?: string }
  /** a task's control message, to the job master or the coordinator by systemId */
  | { k: 'ctl'; to: string; m: FromTaskMessage }
  /** every task of the attempt is done (canceled, finished or failed) */
  | { k: 'attempt-stopped'; attempt: number }
  /** the TaskManager could not set up the attempt (the job file did not load, ...) */
  | { k: 'attempt-failed'; attempt: number; error: unknown }
  /** a task of attempt `a` changed state: the JobManager's REST API and live feed show it */
  | { k: 'task'; a: number; v: TaskViewUpdate }
  /** an inspection event of a task actor of attempt `a` (only while the job is inspected) */
  | { k: 'inspect'; a: number; e: RelayedInspection };

export type JobManagerFrame =
  | { k: 'registered'; id: string }
  | { k: 'refused'; code: string; message: string }
  | { k: 'deploy'; deployment: AttemptDeployment }
  /** a control message to a task, by its systemId */
  | { k: 'ctl'; to: string; m: ToTaskMessage }
  | { k: 'cancel-attempt'; attempt: number }
  | { k: 'end-job'; jobId: string }
  | { k: 'shutdown' };

export type DataFrame =
  | { k: 'hello'; id: string; version: number }
  /** a channel message of attempt `a` on channel `ch` (`edge:producer:consumer`) */
  | { k: 'msg'; a: number; ch: string; m: ChannelMessage }
  /** `n` credits for channel `ch`, from its consumer; `announce` is the initial announcement */
  | { k: 'credit'; a: number; ch: string; n: number };

type AnyFrame = TaskManagerFrame | JobManagerFrame | DataFrame;

/** One frame's bytes (records keep the types state values keep: Maps, Dates, BigInt, ...). */
export function encodeFrame(frame: AnyFrame): Uint8Array {
  // records with an event timestamp or a side-output tag travel in the plain form the value codec writes
  let out: AnyFrame = frame;
  if (frame.k === 'msg' && frame.m.type === 'data') {
    const batch = toWireBatch(frame.m.batch);
    if (batch !== frame.m.batch) out = { ...frame, m: { type: 'data', batch: batch as never } };
  }
  // a copy: the writer's buffer is reused by the next call
  return Uint8Array.prototype.slice.call(packStateValue(out, `a cluster '${frame.k}' frame`));
}

const KINDS: Record<string, ReadonlySet<string>> = {
  tm: new Set(['register', 'ctl', 'attempt-stopped', 'attempt-failed', 'task', 'inspect']),
  jm: new Set(['registered', 'refused', 'deploy', 'ctl', 'cancel-attempt', 'end-job', 'shutdown']),
  data: new Set(['hello', 'msg', 'credit']),
};
const CONTROL_TYPES = new Set<string>(CONTROL_MESSAGE_TYPES);

/** Decodes a frame from `from` ('tm': a TaskManager's, 'jm': the JobManager's, 'data': a peer's); a malformed one is a coded error. */
export function decodeFrame<F extends AnyFrame>(bytes: Uint8Array, from: 'tm' | 'jm' | 'data'): F {
  if (bytes.byteLength > MAX_FRAME_BYTES) throw frameError(`a frame of ${bytes.byteLength} bytes is over the limit of ${MAX_FRAME_BYTES}`);
  let frame: unknown;
  try {
    frame = valuePackr.unpack(bytes);
  } catch (cause) {
    throw frameError(`a frame does not decode (${(cause as Error).message})`, cause);
  }
  const f = frame as { k?: unknown; m?: { type?: unknown; attempt?: unknown } } | null;
  if (f === null || typeof f !== 'object' || typeof f.k !== 'string' || !KINDS[from]!.has(f.k))
    throw frameError(`an unexpected frame (${describe(f)})`);
  if (
    f.k === 'ctl' &&
    (typeof f.m !== 'object' || f.m === null || !CONTROL_TYPES.has(String(f.m.type)) || typeof f.m.attempt !== 'number')
  ) {
    throw frameError('a control frame without a valid control message');
  }
  const data = f as { k: string; m?: { type?: unknown; batch?: unknown } };
  if (
    data.k === 'msg' &&
    data.m?.type === 'data' &&
    data.m.batch !== null &&
    typeof data.m.batch === 'object' &&
    !Array.isArray(data.m.batch)
  ) {
    data.m.batch = fromWireBatch(data.m.batch as WrappedBatch);
  }
  return frame as F;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return `kind ${JSON.stringify((value as { k?: unknown }).k)}`;
}

export function frameError(message: string, cause?: unknown): FloeError {
  return new FloeError('FLOE_CLUSTER_FRAME_INVALID', `${message}: the connection is closed`, {
    cause,
    hint: 'every JobManager and TaskManager must run the same floe version; anything else on these ports is refused',
  });
}
