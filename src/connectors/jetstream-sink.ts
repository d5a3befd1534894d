// JetStreamSink: publishes records to NATS JetStream with message ids a replay repeats, so the server drops the replayed copies.
import type { JetStreamClient, NatsConnection, PubAck } from 'nats';
import type { ListState } from '../backends/types.ts';
import { FloeError } from '../errors.ts';
import type { OperatorContext, Sink, StreamOperator } from '../operators/operator.ts';
import { emitFloeWarning } from '../warnings.ts';
import { formatRecord } from './format-record.ts';
import type { Configuration } from '../config/configuration.ts';
import {
  checkNatsOptions,
  configureNats,
  connectionLost,
  connectNats,
  requireServers,
  shownServers,
  type NatsConnectionOptions,
} from './jetstream-connection.ts';

export interface JetStreamSinkOptions<T> extends NatsConnectionOptions {
  /** the subject to publish to, or a function of the record */
  subject: string | ((record: T) => string);
  /** the payload of a record; default: strings as UTF-8, other values as formatRecord prints them */
  serializer?: (record: T) => Uint8Array | string;
  /**
   * The checkpoint timeout of the job (default: the job's execution.checkpointing.timeout): the sink
   * warns at start when the stream's duplicate window is shorter, since a recovery that takes
   * longer than the window publishes its replayed records again.
   */
  checkpointTimeoutMs?: number;
}

/** union state: each subtask's next message sequence, and the lineage (first job id) of the run */
interface PublishCounter {
  subtask: number;
  next: number;
  job: string;
}

/** publishes awaited at once before the sink takes more input (backpressure from the server) */
const MAX_IN_FLIGHT = 2048;
const encoder = new TextEncoder();

export class JetStreamSink<T = unknown> implements Sink<T> {
  readonly name: string;
  readonly options: JetStreamSinkOptions<T>;
  /** streams whose duplicate window was checked, so a job with many subtasks warns once */
  readonly #checked = new Set<string>();

  constructor(options: JetStreamSinkOptions<T>) {
    checkNatsOptions('JetStreamSink', options);
    if (
      typeof options.subject !== 'function' &&
      (typeof options.subject !== 'string' || options.subject === '' || /[*>\s]/.test(options.subject))
    ) {
      throw new TypeError(
        'JetStreamSink needs subject: a subject without wildcards such as "results.counts", or a function (record) => subject',
      );
    }
    if (options.serializer !== undefined && typeof options.serializer !== 'function')
      throw new TypeError('JetStreamSink serializer must be a function (record) => Uint8Array | string');
    this.options = { ...options };
    this.name = `JetStream(${typeof options.subject === 'string' ? options.subject : 'subject by record'})`;
  }

  /** Servers from -D connector.nats.*, and the job's checkpoint timeout for the duplicate-window check. */
  configure(config: Configuration): void {
    configureNats(this.options, config);
    this.options.checkpointTimeoutMs ??= config.get('execution.checkpointing.timeout');
  }

  validate(): void {
    requireServers('JetStreamSink', this.options);
  }

  createWriter(): StreamOperator<T, never> {
    return new JetStreamSinkWriter<T>(this);
  }

  /** Warns once per stream when its duplicate window is shorter than the checkpoint timeout. */
  async checkDuplicateWindow(nc: NatsConnection, subject: string): Promise<void> {
    const jsm = await nc.jetstreamManager();
    let stream: string;
    try {
      stream = await jsm.streams.find(subject);
    } catch (error) {
      throw new FloeError(
        'FLOE_JETSTREAM_NO_STREAM_FOR_SUBJECT',
        `JetStreamSink: no stream on ${shownServers(this.options)} takes subject ${subject}: ${(error as Error).message}`,
        {
          cause: error,
          hint: `create a stream whose subjects include ${subject} (nats stream add --subjects '${subject}') or fix the subject option`,
        },
      );
    }
    if (this.#checked.has(stream)) return;
    this.#checked.add(stream);
    const info = await jsm.streams.info(stream);
    const windowMs = info.config.duplicate_window / 1e6;
    const timeoutMs = this.options.checkpointTimeoutMs ?? 10 * 60_000;
    if (windowMs < timeoutMs) {
      emitFloeWarning(
        'FLOE_JETSTREAM_SHORT_DUPLICATE_WINDOW',
        `stream ${stream} drops duplicate message ids for ${Math.round(windowMs / 1000)} s only, less than the checkpoint timeout (${Math.round(timeoutMs / 1000)} s): records a recovery replays later than that after their first publication are stored twice`,
        `raise the stream's duplicate window (nats stream edit ${stream} --dupe-window ${Math.ceil(timeoutMs / 60_000)}m) or lower execution.checkpointing.timeout (give the sink checkpointTimeoutMs)`,
      );
    }
  }
}

class JetStreamSinkWriter<T> implements StreamOperator<T, never> {
  readonly #sink: JetStreamSink<T>;
  #nc: NatsConnection | null = null;
  #js!: JetStreamClient;
  #state!: ListState<PublishCounter>;
  #idPrefix = '';
  #subtask = 0;
  #lineage = '';
  #next = 0;
  #inFlight: Promise<PubAck>[] = [];
  #error: unknown = null;
  #closing = false;

  constructor(sink: JetStreamSink<T>) {
    this.#sink = sink;
  }

  async open(context: OperatorContext): Promise<void> {
    const options = this.#sink.options;
    this.#subtask = context.subtaskIndex;
    this.#state = context.operatorState.getUnionListState<PublishCounter>('publish-counters');
    const counters = context.restoredCheckpointId === null ? [] : this.#state.get();
    this.#lineage = counters[0]?.job ?? context.jobId;
    // the sequence goes on from the checkpoint: a replay publishes the same records under the same ids
    this.#next = counters.find((c) => c.subtask === this.#subtask)?.next ?? 0;
    this.#idPrefix = `${this.#lineage}/${context.operatorUid}/${this.#subtask}/`;
    const nc = await connectNats('JetStreamSink', options);
    if (this.#closing) {
      // closed while connecting (the task was canceled): nothing else will close this connection
      await nc.close().catch(() => {});
      return;
    }
    this.#nc = nc;
    nc.closed().then((error) => {
      if (!this.#closing) this.#error ??= connectionLost('JetStreamSink', options, error);
    });
    this.#js = nc.jetstream();
    if (typeof options.subject === 'string') await this.#sink.checkDuplicateWindow(nc, options.subject);
  }

  processElement(record: T): void {
    if (this.#error) throw this.#error;
    const { subject, serializer } = this.#sink.options;
    const payload = serializer ? serializer(record) : typeof record === 'string' ? record : formatRecord(record);
    const data = typeof payload === 'string' ? encoder.encode(payload) : payload;
    const to = typeof subject === 'string' ? subject : subject(record);
    const ack = this.#js.publish(to, data, { msgID: this.#idPrefix + this.#next++ });
    ack.catch(() => {}); // handled by #settle; a closed writer drops its in-flight publishes unawaited
    this.#inFlight.push(ack);
  }

  endBatch(): Promise<void> | undefined {
    if (this.#inFlight.length < MAX_IN_FLIGHT) return undefined;
    return this.#settle();
  }

  /** Waits for the server's acks of everything published so far. */
  async #settle(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = [];
    try {
      await Promise.all(inFlight);
    } catch (error) {
      throw (
        this.#error ??
        new FloeError(
          'FLOE_JETSTREAM_PUBLISH_FAILED',
          `JetStreamSink could not publish to ${shownServers(this.#sink.options)}: ${(error as Error).message}`,
          {
            cause: error,
            hint: 'check that a stream takes the subject and has room; the restart strategy replays from the last checkpoint',
          },
        )
      );
    }
  }

  /** The sequence goes into the checkpoint; the acknowledgement waits until the server has stored every record before the barrier. */
  snapshotState(): Promise<void> {
    this.#state.update([{ subtask: this.#subtask, next: this.#next, job: this.#lineage }]);
    return this.#settle();
  }

  async endInput(): Promise<void> {
    await this.#settle();
  }

  async close(): Promise<void> {
    this.#closing = true;
    const nc = this.#nc;
    this.#nc = null;
    this.#inFlight = [];
    try {
      await nc?.close();
    } catch {
      // close must not throw while a task tears down
    }
  }
}
