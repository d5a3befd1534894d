// JetStreamSource: reads a NATS JetStream stream, its position per split (a subject filter, subject partition or named consumer's filter) kept in the checkpoint, so a restore replays exactly.
// types only: nats is loaded when a job connects (jetstream-connection.ts), not with floe's index
import type { ConsumerInfo, ConsumerMessages, DeliverPolicy, JetStreamManager, JsMsg, NatsConnection } from 'nats';
import type { ListState } from '../backends/types.ts';
import { UnrecoverableError } from '../errors.ts';
import type { OperatorContext, Output, PollResult, ReaderOutput, Source, SourceReader } from '../operators/operator.ts';
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

/** What a deserializer gets besides the payload; `timestamp` (ms since the epoch, the server's) can serve as event time. */
export interface JetStreamMessageInfo {
  subject: string;
  sequence: number;
  timestamp: number;
}

export type JetStreamStart = 'earliest' | 'latest' | { sequence: number } | { time: Date | string };

export interface JetStreamSourceOptions<T> extends NatsConnectionOptions {
  stream: string;
  /**
   * Subject filters (wildcards allowed, must not overlap); each is a split, spread over the
   * subtasks. Default: the whole stream as one split.
   */
  subjects?: string[];
  /**
   * Subject partitions: the stream's subjects carry a partition number token (NATS deterministic
   * partitioning, a mapping such as `events.*` → `events.{{partition(8,1)}}.{{wildcard(1)}}`, or
   * producers that publish to `events.<p>....`). With `partitions: n`, each filter in `subjects`
   * names that token `{partition}` (e.g. `events.{partition}.*`) and stands for n splits, the token
   * replaced by 0 ... n-1, each read through its own consumer.
   */
  partitions?: number;
  /**
   * A consumer each: names of consumers defined on the stream (`nats consumer add`), one split
   * each, with its filter subject; a fresh run without `start` begins where each consumer's readers
   * left off (its ack floor, else its deliver policy). floe reads through its own ordered consumer
   * and never acks: the checkpoint, not the named consumer, keeps floe's position. Not with
   * `subjects`.
   */
  consumers?: string[];
  /** where a fresh run starts; default 'earliest'. A restored run goes on from its checkpoint. */
  start?: JetStreamStart;
  /** read up to the stream's last sequence at the first start, then end (tests, backfills) */
  bounded?: boolean;
  /** turns a message into a record; default: the data as UTF-8 text */
  deserializer?: (data: Uint8Array, info: JetStreamMessageInfo) => T;
  /** 'fail' (default): the job fails with FLOE_JETSTREAM_DESERIALIZATION_FAILED; 'skip': counted in `skipped` and dropped */
  onDeserializationError?: 'fail' | 'skip';
}

/** One subject filter's read position; `next` is the next stream sequence to read, `end` the bounded run's last one. */
export interface JetStreamSplit {
  filter: string;
  next: number;
  /** a fresh start by time: used until the first message is read */
  startTime?: string;
  end?: number;
}

/** the subject token a partitioned filter names its partition number by */
const PARTITION_TOKEN = '{partition}';

/** The splits' subject filters: each filter, or each filter once per partition. '' is the whole stream. */
export function splitFilters(options: Pick<JetStreamSourceOptions<unknown>, 'subjects' | 'partitions'>): string[] {
  const filters = options.subjects ?? [''];
  if (options.partitions === undefined) return filters;
  const out: string[] = [];
  for (const filter of filters) {
    for (let p = 0; p < options.partitions; p++)
      out.push(
        filter
          .split('.')
          .map((t) => (t === PARTITION_TOKEN ? String(p) : t))
          .join('.'),
      );
  }
  return out;
}

/** how long close waits for the pumps to stop their consumers */
const CLOSE_WAIT_MS = 5_000;
/** messages a split's consumer may hold before the pump waits for poll to take them */
const HIGH_WATER = 4096;
const decoder = new TextDecoder();

export class JetStreamSource<T = string> implements Source<T> {
  readonly name: string;
  readonly options: JetStreamSourceOptions<T>;
  /** records dropped by onDeserializationError: 'skip', over every reader of this source in this process */
  skipped = 0;

  constructor(options: JetStreamSourceOptions<T>) {
    checkNatsOptions('JetStreamSource', options);
    if (typeof options.stream !== 'string' || options.stream === '')
      throw new TypeError('JetStreamSource needs stream: the JetStream stream name');
    if (
      options.subjects !== undefined &&
      (!Array.isArray(options.subjects) || options.subjects.some((s) => typeof s !== 'string' || s === ''))
    ) {
      throw new TypeError('JetStreamSource subjects must be a list of subject filters such as ["events.>"]');
    }
    if (options.consumers !== undefined) {
      if (
        !Array.isArray(options.consumers) ||
        options.consumers.length === 0 ||
        options.consumers.some((c) => typeof c !== 'string' || c === '')
      ) {
        throw new TypeError('JetStreamSource consumers must be a non-empty list of consumer names on the stream');
      }
      if (options.subjects !== undefined || options.partitions !== undefined)
        throw new TypeError(
          'JetStreamSource takes consumers or subjects (and partitions), not both: a consumer brings its own filter subject',
        );
    }
    if (options.partitions !== undefined) {
      if (!Number.isInteger(options.partitions) || options.partitions < 1)
        throw new TypeError('JetStreamSource partitions must be a positive integer: the number of subject partitions');
      if (!options.subjects?.length || options.subjects.some((s) => !s.split('.').includes(PARTITION_TOKEN))) {
        throw new TypeError(
          `JetStreamSource partitions needs subjects whose filters name the partition token ${PARTITION_TOKEN}, such as ["events.${PARTITION_TOKEN}.*"]`,
        );
      }
    } else if (options.subjects?.some((s) => s.includes(PARTITION_TOKEN))) {
      throw new TypeError(
        `JetStreamSource subjects name ${PARTITION_TOKEN} but partitions is not set: give partitions, the number of subject partitions`,
      );
    }
    if (options.deserializer !== undefined && typeof options.deserializer !== 'function')
      throw new TypeError('JetStreamSource deserializer must be a function (data, info) => record');
    if (options.onDeserializationError !== undefined && !['fail', 'skip'].includes(options.onDeserializationError)) {
      throw new TypeError("JetStreamSource onDeserializationError must be 'fail' or 'skip'");
    }
    checkStart(options.start);
    this.options = { ...options };
    this.name = `JetStream(${options.stream})`;
  }

  configure(config: Configuration): void {
    configureNats(this.options, config);
  }

  validate(): void {
    requireServers('JetStreamSource', this.options);
  }

  createReader(): SourceReader<T> {
    return new JetStreamReader<T>(this);
  }
}

function checkStart(start: JetStreamStart | undefined): void {
  if (start === undefined || start === 'earliest' || start === 'latest') return;
  if (typeof start === 'object' && 'sequence' in start && Number.isInteger(start.sequence) && start.sequence >= 1) return;
  if (typeof start === 'object' && 'time' in start && !Number.isNaN(new Date(start.time).getTime())) return;
  throw new TypeError("JetStreamSource start must be 'earliest', 'latest', { sequence: n >= 1 } or { time: Date | ISO string }");
}

/** The messages a split's consumer delivered and poll has not taken yet. */
interface SplitFeed {
  split: JetStreamSplit;
  /** the split's id for its output (its filter, unique in the reader by its place) */
  id: string;
  /** the split's own output, where the reader's output gives one (per-split watermarks); null: the reader's */
  output: Output<unknown> | null;
  /** its output was released: the split is done and drained */
  released: boolean;
  queue: JsMsg[];
  head: number;
  /** no more messages will come (bounded run past its end) */
  done: boolean;
  /** resolves the pump's wait once poll has drained the queue */
  drained: (() => void) | null;
  messages: ConsumerMessages | null;
  /** the pump's run: close waits for it, since an ordered consumer still being created when the connection
   * closes retries its creation every 30 s (nats.js), keeping the process alive */
  pumping: Promise<void>;
}

class JetStreamReader<T> implements SourceReader<T> {
  readonly #source: JetStreamSource<T>;
  readonly #what: string;
  #state!: ListState<JetStreamSplit>;
  #nc: NatsConnection | null = null;
  #feeds: SplitFeed[] = [];
  #error: unknown = null;
  #closing = false;
  #turn = 0;
  /** each feed has its own output (asked for at the first poll) */
  #splitOutputs = false;

  constructor(source: JetStreamSource<T>) {
    this.#source = source;
    this.#what = `JetStreamSource(${source.options.stream})`;
  }

  async open(context: OperatorContext): Promise<void> {
    const options = this.#source.options;
    this.#state = context.operatorState.getListState<JetStreamSplit>('splits');
    const nc = await connectNats(this.#what, options);
    if (this.#closing) {
      // closed while connecting (the task was canceled): nothing else will close this connection
      await nc.close().catch(() => {});
      return;
    }
    this.#nc = nc;
    nc.closed().then((error) => {
      if (!this.#closing) this.#error ??= connectionLost(this.#what, options, error);
    });
    const jsm = await nc.jetstreamManager();
    let info;
    try {
      info = await jsm.streams.info(options.stream);
    } catch (error) {
      throw new UnrecoverableError(
        'FLOE_JETSTREAM_STREAM_NOT_FOUND',
        `${this.#what}: no stream '${options.stream}' on ${shownServers(options)}: ${(error as Error).message}`,
        {
          cause: error,
          hint: `create the stream first (nats stream add ${options.stream} --subjects '...') or fix the stream option`,
        },
      );
    }
    let splits: JetStreamSplit[];
    if (context.restoredCheckpointId !== null) {
      splits = this.#state.get().map((s) => ({ ...s }));
    } else {
      const { last_seq: last } = info.state;
      const start = options.start ?? 'earliest';
      const next = start === 'earliest' ? 1 : start === 'latest' ? last + 1 : 'sequence' in start ? start.sequence : 1;
      const startTime = typeof start === 'object' && 'time' in start ? new Date(start.time).toISOString() : undefined;
      const mine = <X>(all: X[]) => all.filter((_x, i) => i % context.parallelism === context.subtaskIndex);
      if (options.consumers) {
        splits = [];
        for (const name of mine(options.consumers)) {
          const split = await this.#consumerSplit(jsm, name, last);
          if (options.start !== undefined) Object.assign(split, { next }, startTime ? { startTime } : {});
          splits.push({ ...split, ...(options.bounded ? { end: last } : {}) });
        }
      } else {
        splits = mine(splitFilters(options)).map((filter) => ({
          filter,
          next,
          ...(startTime ? { startTime } : {}),
          ...(options.bounded ? { end: last } : {}),
        }));
      }
    }
    this.#feeds = splits.map((split, i) => ({
      split,
      id: `${i}:${split.filter}`,
      output: null,
      released: false,
      queue: [],
      head: 0,
      done: false,
      drained: null,
      messages: null,
      pumping: Promise.resolve(),
    }));
    for (const feed of this.#feeds) {
      feed.pumping = this.#pump(feed).catch((error) => {
        if (!this.#closing) this.#error ??= error;
      });
    }
  }

  /** A named consumer as a split: its filter subject, and where its readers left off (ack floor, else its deliver policy). */
  async #consumerSplit(jsm: JetStreamManager, name: string, last: number): Promise<JetStreamSplit> {
    const stream = this.#source.options.stream;
    let info: ConsumerInfo;
    try {
      info = await jsm.consumers.info(stream, name);
    } catch (error) {
      throw new UnrecoverableError(
        'FLOE_JETSTREAM_CONSUMER_NOT_FOUND',
        `${this.#what}: no consumer '${name}' on stream '${stream}' at ${shownServers(this.#source.options)}: ${(error as Error).message}`,
        {
          cause: error,
          hint: `create it first (nats consumer add ${stream} ${name} --filter '...') or fix the consumers option`,
        },
      );
    }
    const { config } = info;
    const filter = config.filter_subject ?? '';
    if (info.ack_floor.stream_seq > 0) return { filter, next: info.ack_floor.stream_seq + 1 };
    switch (config.deliver_policy) {
      case 'new' as DeliverPolicy.New:
        return { filter, next: last + 1 };
      case 'by_start_sequence' as DeliverPolicy.StartSequence:
        return { filter, next: config.opt_start_seq ?? 1 };
      case 'by_start_time' as DeliverPolicy.StartTime:
        return config.opt_start_time ? { filter, next: 1, startTime: new Date(config.opt_start_time).toISOString() } : { filter, next: 1 };
      default:
        // all, last, last per subject: from the start of the filter (no earlier position to go back to)
        return { filter, next: 1 };
    }
  }

  /** Feeds one split's queue from an ordered consumer, waiting while the queue is full (backpressure to the server). */
  async #pump(feed: SplitFeed): Promise<void> {
    const { split } = feed;
    const options = this.#source.options;
    const nc = this.#nc!;
    if (split.end !== undefined && !(await this.#anyUpToEnd(split))) {
      feed.done = true;
      return;
    }
    const js = nc.jetstream();
    const consumer = await js.consumers.get(options.stream, {
      ...(split.filter ? { filterSubjects: split.filter } : {}),
      ...(split.startTime && split.next <= 1
        ? { deliver_policy: 'by_start_time' as DeliverPolicy.StartTime, opt_start_time: split.startTime }
        : { deliver_policy: 'by_start_sequence' as DeliverPolicy.StartSequence, opt_start_seq: Math.max(1, split.next) }),
    });
    const messages = await consumer.consume({ max_messages: 1024 });
    feed.messages = messages;
    if (this.#closing) return void messages.stop();
    // bounded from a time: the server alone knows whether anything is at or after it
    if (split.end !== undefined && split.startTime && split.next <= 1) {
      const info = await consumer.info();
      // nothing pending and nothing delivered yet (the pull may have delivered some before this answer)
      if (info.num_pending === 0 && info.delivered.consumer_seq === 0) {
        feed.done = true;
        return void messages.stop();
      }
      if (this.#closing) return void messages.stop();
    }
    for await (const m of messages) {
      if (split.end !== undefined && m.seq > split.end) break;
      feed.queue.push(m);
      // bounded: nothing more up to the end once this is the end or the consumer has nothing pending
      if (split.end !== undefined && (m.seq >= split.end || m.info.pending === 0)) break;
      if (feed.queue.length - feed.head >= HIGH_WATER) await new Promise<void>((resolve) => (feed.drained = resolve));
      if (this.#closing) break;
    }
    feed.done = true;
    messages.stop();
  }

  /** Whether the split's filter has a message in [next, end] (a bounded split may have none: then it is done at once). */
  async #anyUpToEnd(split: JetStreamSplit): Promise<boolean> {
    if (split.next > split.end!) return false;
    const request = { seq: split.next, next_by_subj: split.filter || '>' };
    const reply = await this.#nc!.request(`$JS.API.STREAM.MSG.GET.${this.#source.options.stream}`, JSON.stringify(request), {
      timeout: 10_000,
    });
    const body = JSON.parse(decoder.decode(reply.data)) as { message?: { seq: number }; error?: { code: number } };
    return body.message !== undefined && body.message.seq <= split.end!;
  }

  poll(output: ReaderOutput<T>, max: number): PollResult {
    if (this.#error) throw this.#error;
    const feeds = this.#feeds;
    // per-split watermarks (fromSource with a strategy): every split has its output from the start, so a
    // split that has delivered nothing yet holds the subtask's watermark back until it does (or goes idle)
    if (output.forSplit && !this.#splitOutputs) {
      this.#splitOutputs = true;
      for (const feed of feeds) feed.output = output.forSplit(feed.id);
    }
    const { deserializer, onDeserializationError } = this.#source.options;
    let emitted = 0;
    let open = 0;
    // round robin over splits, so one busy subject does not starve the others
    for (let k = 0; k < feeds.length && emitted < max; k++) {
      const feed = feeds[(this.#turn + k) % feeds.length]!;
      const { queue, split } = feed;
      const out = (feed.output as Output<T> | null) ?? output;
      while (feed.head < queue.length && emitted < max) {
        const m = queue[feed.head]!;
        queue[feed.head++] = undefined as unknown as JsMsg; // let the message go
        split.next = m.seq + 1;
        if (split.startTime !== undefined) delete split.startTime;
        let record: T;
        if (deserializer) {
          try {
            record = deserializer(m.data, { subject: m.subject, sequence: m.seq, timestamp: Math.floor(m.info.timestampNanos / 1e6) });
          } catch (error) {
            if (onDeserializationError === 'skip') {
              this.#source.skipped++;
              continue;
            }
            throw new UnrecoverableError(
              'FLOE_JETSTREAM_DESERIALIZATION_FAILED',
              `${this.#source.name}: the deserializer rejected the message of subject ${m.subject} at stream sequence ${m.seq}: ${(error as Error).message}`,
              {
                cause: error,
                hint: "fix the deserializer or the message, or build the source with onDeserializationError: 'skip' to count and drop such messages",
              },
            );
          }
        } else {
          record = decoder.decode(m.data) as T;
        }
        out.collect(record);
        emitted++;
      }
      if (feed.head === queue.length && feed.head > 0) {
        queue.length = 0;
        feed.head = 0;
        feed.drained?.();
        feed.drained = null;
      }
      if (!feed.done || feed.head < queue.length) open++;
      else if (feed.output && !feed.released) {
        // a bounded split read to its end no longer holds the subtask's watermark back
        feed.released = true;
        output.releaseSplit?.(feed.id);
      }
    }
    this.#turn++;
    if (emitted > 0) return 'more';
    if (open === 0 && this.#feeds.every((f) => f.split.end !== undefined)) return 'end';
    return 'idle';
  }

  snapshotState(): void {
    this.#state.update(this.#feeds.map(({ split }) => ({ ...split })));
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const feed of this.#feeds) {
      feed.messages?.stop();
      feed.drained?.();
    }
    // a pump still creating its consumer stops it once created; bounded, so a server that went away cannot hold the task
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.#feeds.map((f) => f.pumping)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    const nc = this.#nc;
    this.#nc = null;
    try {
      await nc?.close();
    } catch {
      // close must not throw while a task tears down
    }
  }
}
