// PostgresSink: writes records as rows, exactly once by two-phase commit (PREPARE TRANSACTION at the barrier), or as idempotent upserts.
import type pg from 'pg';
import type { ListState } from '../backends/types.ts';
import type { Configuration } from '../config/configuration.ts';
import { ConfigError, FloeError, JobDefinitionError, UnrecoverableError } from '../errors.ts';
import type { JobEnd, OperatorContext, Sink, StreamOperator } from '../operators/operator.ts';
import { emitFloeWarning } from '../warnings.ts';
import {
  insertStatement,
  parseAnyTransactionId,
  parseTransactionId,
  quoteIdent,
  quoteLiteral,
  rowsPerStatement,
  transactionId,
  transactionPrefix,
} from './postgres-statements.ts';
import { redactSecrets, redactUrl } from './redact-url.ts';

export interface PostgresSinkOptions<T> {
  /**
   * `postgres://user:password@host:port/database`; the password is never printed. Left out:
   * `-D connector.postgres.url=...`; `-D connector.postgres.password=...` sets the password.
   */
  connectionString?: string;
  /** the table (optionally schema.table); it must exist */
  table: string;
  columns: string[];
  /** the row of a record, one value per column */
  toRow: (record: T) => unknown[];
  /** primary-key (or unique) columns: rows upsert on them (last wins); without a key rows are appended */
  key?: string[];
  /**
   * 'exactly-once' (default): one transaction per checkpoint, prepared at the barrier and committed
   * when the checkpoint completes (needs max_prepared_transactions > 0). 'upsert': each batch is
   * committed at once; exactly-once in effect only through the key (replayed rows overwrite).
   */
  mode?: 'exactly-once' | 'upsert';
  /** rows per INSERT (one round trip each); default 1000 */
  batchSize?: number;
  /** how long to keep retrying a server that is down at start; default 5000 ms */
  connectTimeoutMs?: number;
  /**
   * Exactly-once: the start of this sink's prepared-transaction ids (default `floe`), as Flink's
   * KafkaSink's transactional id prefix. Given, a fresh start (not a restore) rolls back the
   * prepared transactions earlier runs with this prefix left behind (a run killed and never
   * resumed): it must be unique to this sink, since it also aborts another running job's.
   */
  transactionalIdPrefix?: string;
}

/** A transaction prepared at a checkpoint, waiting for it to complete. */
interface PreparedTransaction {
  checkpointId: number;
  gid: string;
}

/** union state: the lineage (the first job's id) of the run the state descends from */
interface Lineage {
  job: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UNDEFINED_OBJECT = '42704';
/** object_not_in_prerequisite_state: a prepared transaction another session is committing or rolling back */
const OBJECT_BUSY = '55000';

export class PostgresSink<T = unknown> implements Sink<T> {
  readonly name: string;
  readonly options: Required<Omit<PostgresSinkOptions<T>, 'key' | 'connectionString' | 'transactionalIdPrefix'>> & {
    key: string[] | undefined;
    connectionString: string | undefined;
    transactionalIdPrefix: string | undefined;
  };
  /** a password from the configuration, put into the connection string when connecting */
  #password: string | undefined;
  /** the lineage of each running job whose writers opened, by job id, for onJobEnd */
  readonly #lineages = new Map<string, { prefix: string }>();

  constructor(options: PostgresSinkOptions<T>) {
    const {
      connectionString,
      table,
      columns,
      toRow,
      key,
      mode = 'exactly-once',
      batchSize = 1000,
      connectTimeoutMs = 5000,
      transactionalIdPrefix,
    } = options ?? ({} as PostgresSinkOptions<T>);
    if (connectionString !== undefined && (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString))) {
      throw new TypeError('PostgresSink needs connectionString: a URL such as postgres://user:password@127.0.0.1:5432/db');
    }
    if (typeof table !== 'string' || table === '') throw new TypeError('PostgresSink needs table: the name of an existing table');
    if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== 'string' || c === '')) {
      throw new TypeError('PostgresSink needs columns: the names of the columns toRow fills, e.g. ["word", "n"]');
    }
    if (typeof toRow !== 'function') throw new TypeError('PostgresSink needs toRow: (record) => [value per column]');
    if (mode !== 'exactly-once' && mode !== 'upsert') throw new TypeError("PostgresSink mode must be 'exactly-once' or 'upsert'");
    if (key !== undefined && (!Array.isArray(key) || key.length === 0 || key.some((k) => !columns.includes(k)))) {
      throw new TypeError(`PostgresSink key must be a non-empty list of columns among ${columns.join(', ')}`);
    }
    if (mode === 'upsert' && !key) throw new TypeError("PostgresSink mode 'upsert' needs key: the columns rows are upserted on");
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('PostgresSink batchSize must be a positive integer');
    if (
      transactionalIdPrefix !== undefined &&
      (typeof transactionalIdPrefix !== 'string' || !/^[A-Za-z0-9_.-]{1,30}$/.test(transactionalIdPrefix))
    ) {
      throw new TypeError(
        'PostgresSink transactionalIdPrefix must be 1 to 30 letters, digits, _ . or -, unique to this sink (e.g. "counts-job")',
      );
    }
    this.options = {
      connectionString,
      table,
      columns: [...columns],
      toRow,
      key: key && [...key],
      mode,
      batchSize,
      connectTimeoutMs,
      transactionalIdPrefix,
    };
    this.name = `Postgres(${table})`;
  }

  /** The connection string as it may be shown: password masked. */
  get shownUrl(): string {
    return redactUrl(this.options.connectionString ?? '');
  }

  /** The connection string and password from -D connector.postgres.* when the options leave them out. */
  configure(config: Configuration): void {
    const url = config.get('connector.postgres.url');
    if (this.options.connectionString === undefined && url !== undefined) {
      if (!/^postgres(ql)?:\/\//.test(url)) {
        throw new ConfigError('FLOE_POSTGRES_BAD_URL', `connector.postgres.url must be a postgres:// URL, got ${redactUrl(url)}`, {
          hint: 'pass -D connector.postgres.url=postgres://user@host:5432/database',
        });
      }
      this.options.connectionString = url;
    }
    this.#password ??= config.get('connector.postgres.password');
  }

  validate(): void {
    if (this.options.connectionString !== undefined) return;
    throw new JobDefinitionError('FLOE_POSTGRES_NO_CONNECTION', `${this.name} has no database to connect to`, {
      hint: 'give it connectionString: postgres://user@host:5432/database, or run the job with -D connector.postgres.url=postgres://...',
    });
  }

  /** The connection string to connect with: the configured password put in. */
  #url(): string {
    const url = this.options.connectionString!;
    if (this.#password === undefined) return url;
    const parsed = new URL(url);
    parsed.password = encodeURIComponent(this.#password);
    return parsed.toString();
  }

  createWriter(): StreamOperator<T, never> {
    return new PostgresSinkWriter<T>(this);
  }

  /** A connection, retried while the server refuses (it may be starting); FLOE_POSTGRES_UNAVAILABLE after connectTimeoutMs. */
  async connect(): Promise<pg.Client> {
    // loaded when a job connects: importing pg costs every job's start-up (it is exported from floe's index)
    const { Client } = (await import('pg')).default;
    const end = Date.now() + this.options.connectTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const client = new Client({ connectionString: this.#url(), connectionTimeoutMillis: 5000 });
      client.on('error', () => {}); // a dropped connection fails the next query, which fails the task
      try {
        await client.connect();
        return client;
      } catch (error) {
        await client.end().catch(() => {});
        const code = (error as { code?: string }).code;
        // wrong password, unknown database or role: retrying cannot help
        const fatal = code === '28P01' || code === '28000' || code === '3D000';
        if (fatal || Date.now() >= end) {
          const Err = fatal ? JobDefinitionError : FloeError;
          throw new Err(
            fatal ? 'FLOE_POSTGRES_LOGIN_FAILED' : 'FLOE_POSTGRES_UNAVAILABLE',
            `${this.name} cannot connect to ${this.shownUrl} (${attempt} attempt${attempt === 1 ? '' : 's'}): ${this.redact((error as Error).message)}`,
            {
              hint: fatal
                ? 'check the user, password and database in connectionString'
                : 'start PostgreSQL or fix connectionString; the restart strategy retries the job',
            },
          );
        }
        await sleep(Math.min(200 * attempt, 1000));
      }
    }
  }

  /** Masks the password in a message from the driver or the server. */
  redact(text: string): string {
    let password: string | undefined;
    try {
      password = decodeURIComponent(new URL(this.options.connectionString ?? '').password) || undefined;
    } catch {
      password = undefined;
    }
    return redactSecrets(redactUrl(text), [password, this.#password]);
  }

  /** A writer of `jobId` opened with this gid prefix: remembered for onJobEnd. */
  registerJob(jobId: string, prefix: string): void {
    this.#lineages.set(jobId, { prefix });
  }

  /**
   * The job ended for good: its prepared transactions are settled by its last completed checkpoint,
   * as a restore would settle them: committed up to it (the notice did not reach the writer in
   * time), rolled back after it.
   */
  async onJobEnd({ jobId, lastCheckpointId }: JobEnd): Promise<void> {
    const lineage = this.#lineages.get(jobId);
    this.#lineages.delete(jobId);
    if (!lineage || this.options.mode !== 'exactly-once') return;
    const client = await this.connect();
    try {
      const { rows } = await client.query<{ gid: string }>(
        'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1)',
        [lineage.prefix],
      );
      for (const { gid } of rows) {
        const id = parseTransactionId(lineage.prefix, gid);
        if (!id) continue;
        const commit = lastCheckpointId !== null && id.checkpointId <= lastCheckpointId;
        await settle(client, gid, commit);
      }
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** A lost connection rather than a refused statement: a connection exception (08), a shutdown (57P), a socket error, the driver's own. */
function isConnectionError(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || code.startsWith('E'))) return true; // E...: ECONNRESET, EPIPE
  return typeof code !== 'string' && /connection|terminated|not queryable|socket/i.test(String(message));
}

/**
 * COMMIT PREPARED or ROLLBACK PREPARED, tolerating a transaction already settled (by an earlier attempt or onJobEnd).
 * "Is busy" (55000) means another session is settling it right now, e.g. the failed attempt's commit of the
 * checkpoint this attempt restores, still running on the server after that attempt's connection closed: wait
 * for it to finish (the transaction is then gone), instead of failing the restored task into another restart.
 */
async function settle(client: pg.Client, gid: string, commit: boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(`${commit ? 'COMMIT' : 'ROLLBACK'} PREPARED ${quoteLiteral(gid)}`);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === UNDEFINED_OBJECT) return;
      if (code !== OBJECT_BUSY || attempt >= 100) throw error;
      await sleep(Math.min(10 * attempt, 200));
    }
  }
}

class PostgresSinkWriter<T> implements StreamOperator<T, never> {
  readonly #sink: PostgresSink<T>;
  readonly #exactlyOnce: boolean;
  #checkpointing = false;
  #subtask = 0;
  #prefix = '';
  #pendingState!: ListState<PreparedTransaction>;
  #lineageState!: ListState<Lineage>;
  #lineage = '';
  /** the connection the data and its transactions go through */
  #data: pg.Client | null = null;
  /** commits and rollbacks of prepared transactions: they cannot run inside the data connection's open transaction */
  #control: pg.Client | null = null;
  /** rows since the last flush; with a key, the last row per key */
  #rows: unknown[][] = [];
  #byKey: Map<string, number> | null = null;
  /** a transaction is open on #data (BEGIN sent) */
  #inTransaction = false;
  /** prepared at a checkpoint that has not completed yet */
  #pending: PreparedTransaction[] = [];
  /** a failed write: every later checkpoint is declined with it, so nothing after it commits */
  #failure: FloeError | null = null;
  #statementRows: number;
  /** the data connection's statements, one after another (pg 9 drops its own queue); settled, never rejected */
  #queue: Promise<unknown> = Promise.resolve();
  #commits: Promise<unknown> = Promise.resolve();
  /** the server went away: every later call fails the task with it */
  #lost: FloeError | null = null;
  /** the last PREPARE sent: a checkpoint's acknowledgement waits for it even when it has no transaction of its own */
  #lastPrepare: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(sink: PostgresSink<T>) {
    this.#sink = sink;
    this.#exactlyOnce = sink.options.mode === 'exactly-once';
    this.#statementRows = rowsPerStatement(sink.options.columns.length, sink.options.batchSize);
    if (sink.options.key) this.#byKey = new Map();
  }

  async open(context: OperatorContext): Promise<void> {
    const sink = this.#sink;
    this.#checkpointing = context.checkpointingEnabled;
    this.#subtask = context.subtaskIndex;
    this.#pendingState = context.operatorState.getListState<PreparedTransaction>('pending');
    this.#lineageState = context.operatorState.getUnionListState<Lineage>('lineage');
    const restored = context.restoredCheckpointId;
    this.#lineage = (restored === null ? undefined : this.#lineageState.get()[0]?.job) ?? context.jobId;
    this.#prefix = transactionPrefix(this.#lineage, context.operatorUid, sink.options.transactionalIdPrefix);
    this.#data = await this.#connect();
    await this.#checkTable(this.#data);
    if (!this.#exactlyOnce) return;
    this.#control = await this.#connect();
    await this.#checkPreparedTransactions(this.#control);
    sink.registerJob(context.jobId, this.#prefix);
    // Flink's XA sink on restore: commit what the restored checkpoint prepared, roll back what later attempts left
    if (restored !== null) for (const txn of this.#pendingState.get()) await settle(this.#control, txn.gid, true);
    this.#pendingState.clear();
    const { rows } = await this.#control.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1)',
      [this.#prefix],
    );
    for (const { gid } of rows) {
      const id = parseTransactionId(this.#prefix, gid);
      // subtask k cleans up after every old subtask s with s % parallelism == k, so a rescale down leaves nothing behind
      if (id && id.subtask % context.parallelism === this.#subtask && (restored === null || id.checkpointId > restored)) {
        await settle(this.#control, gid, false);
      }
    }
    if (restored === null) await this.#lingering(this.#control, context);
  }

  /**
   * A fresh start: prepared transactions of earlier runs of this sink (other lineages) are left
   * over from a run killed and never resumed. With a transactionalIdPrefix they are this sink's
   * alone and rolled back (Flink's KafkaSink aborts lingering transactions on a fresh start);
   * without one they may be another running job's: subtask 0 warns, naming them.
   */
  async #lingering(control: pg.Client, context: OperatorContext): Promise<void> {
    const base = this.#sink.options.transactionalIdPrefix;
    if (base === undefined && this.#subtask !== 0) return;
    const { rows } = await control.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1) ORDER BY prepared',
      [`${base ?? 'floe'}:`],
    );
    const leftovers = rows
      .map(({ gid }) => ({ gid, id: parseAnyTransactionId(base ?? 'floe', gid) }))
      .filter(
        ({ gid, id }) =>
          id && id.lineage !== this.#lineage && !gid.startsWith(this.#prefix) && (base !== undefined || id.uid === context.operatorUid),
      );
    if (base !== undefined) {
      // subtask k aborts those of old subtasks s with s % parallelism == k: each once, whatever the old parallelism
      for (const { gid, id } of leftovers) if (id!.subtask % context.parallelism === this.#subtask) await settle(control, gid, false);
      return;
    }
    if (leftovers.length === 0) return;
    const shown =
      leftovers
        .slice(0, 3)
        .map(({ gid }) => `'${gid}'`)
        .join(', ') + (leftovers.length > 3 ? ` and ${leftovers.length - 3} more` : '');
    emitFloeWarning(
      'FLOE_POSTGRES_LINGERING_TRANSACTIONS',
      `${this.#sink.name}: ${leftovers.length} prepared transaction${leftovers.length === 1 ? '' : 's'} of another run of operator ${context.operatorUid} on ${this.#sink.shownUrl}: ${shown} (a run killed and never resumed, or another job running now); they hold their locks until settled`,
      `if no job runs with them, ROLLBACK PREPARED '<gid>' each (SELECT gid FROM pg_prepared_xacts), or give the sink a transactionalIdPrefix unique to it so a fresh start rolls them back`,
    );
  }

  /** A connection for this writer; one made after close (the task was canceled while connecting) is ended at once. */
  async #connect(): Promise<pg.Client> {
    const client = await this.#sink.connect();
    if (this.#closed) {
      await client.end().catch(() => {});
      throw new FloeError('FLOE_POSTGRES_CLOSED', `${this.#sink.name} was closed while connecting`);
    }
    client.on('end', () => this.#connectionLost());
    client.on('error', (error) => this.#connectionLost(error));
    return client;
  }

  /**
   * The server went away (or ended this connection): the task must fail, so that the restart
   * strategy brings the job back from its checkpoint — a declined checkpoint alone would count
   * towards the job's tolerable checkpoint failures instead. Prepared transactions survive a
   * server restart; the restore commits them.
   */
  #connectionLost(cause?: unknown): FloeError {
    if (!this.#lost && !this.#closed) {
      const why = cause ? `: ${this.#sink.redact((cause as Error).message ?? String(cause))}` : '';
      this.#lost = new FloeError(
        'FLOE_POSTGRES_CONNECTION_LOST',
        `${this.#sink.name} lost its connection to ${this.#sink.shownUrl}${why}`,
        {
          cause,
          hint: 'the restart strategy brings the job back from its last checkpoint once PostgreSQL is reachable again',
        },
      );
    }
    return this.#lost ?? new FloeError('FLOE_POSTGRES_CLOSED', `${this.#sink.name} is closed`);
  }

  /** The table and columns exist: said now, not at the first checkpoint. */
  async #checkTable(client: pg.Client): Promise<void> {
    const { table, columns } = this.#sink.options;
    try {
      await client.query(`SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE false`);
    } catch (error) {
      throw new UnrecoverableError(
        'FLOE_POSTGRES_TABLE_INVALID',
        `${this.#sink.name}: cannot use table ${table} with columns ${columns.join(', ')} on ${this.#sink.shownUrl}: ${this.#sink.redact((error as Error).message)}`,
        {
          cause: error,
          hint: 'create the table with those columns first (CREATE TABLE ...), or fix the table and columns options',
        },
      );
    }
  }

  /** Exactly-once needs prepared transactions, which PostgreSQL disables by default: say what to change. */
  async #checkPreparedTransactions(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ max_prepared_transactions: string }>('SHOW max_prepared_transactions');
    if (Number(rows[0]?.max_prepared_transactions ?? 0) > 0) return;
    throw new UnrecoverableError(
      'FLOE_POSTGRES_PREPARED_TRANSACTIONS_DISABLED',
      `${this.#sink.name}: the server at ${this.#sink.shownUrl} has max_prepared_transactions = 0, so exactly-once (two-phase commit) cannot prepare transactions`,
      {
        hint: this.#sink.options.key
          ? "set max_prepared_transactions to at least the sink's parallelism in postgresql.conf and restart PostgreSQL, or build the sink with mode: 'upsert' (idempotent writes on its key)"
          : "set max_prepared_transactions to at least the sink's parallelism in postgresql.conf and restart PostgreSQL, or give the sink a key and mode: 'upsert'",
      },
    );
  }

  processElement(record: T): void {
    if (this.#lost) throw this.#lost;
    if (this.#failure) return; // its checkpoint is declined: these rows would never commit
    const row = this.#sink.options.toRow(record);
    if (this.#byKey) {
      const key = JSON.stringify(this.#sink.options.key!.map((k) => row[this.#sink.options.columns.indexOf(k)]));
      const at = this.#byKey.get(key);
      if (at !== undefined) {
        this.#rows[at] = row;
        return;
      }
      this.#byKey.set(key, this.#rows.length);
    }
    this.#rows.push(row);
  }

  endBatch(): Promise<void> | undefined {
    if (this.#lost) throw this.#lost;
    if (this.#rows.length < this.#statementRows) return undefined;
    return this.#flush();
  }

  /** Sends the buffered rows (BEGIN first in exactly-once mode); a failure is kept to decline the checkpoint. */
  #flush(): Promise<void> {
    const rows = this.#rows;
    if (rows.length === 0 || this.#failure) return Promise.resolve();
    this.#rows = [];
    this.#byKey?.clear();
    const { table, columns, key } = this.#sink.options;
    const sends: Promise<unknown>[] = [];
    if (this.#exactlyOnce && !this.#inTransaction) {
      this.#inTransaction = true;
      sends.push(this.#send('BEGIN'));
    }
    for (let i = 0; i < rows.length; i += this.#statementRows) {
      const { text, values } = insertStatement(table, columns, key, rows.slice(i, i + this.#statementRows));
      sends.push(this.#send(text, values));
    }
    return Promise.all(sends).then(
      () => undefined,
      (error) => {
        // the connection is gone: not the rows' fault, and the task must fail (endBatch rejects)
        if (this.#lost || isConnectionError(error)) throw this.#connectionLost(error);
        this.#failed(error, 'write rows to');
      },
    );
  }

  /** Queues a statement on the data connection after the ones before it (a PREPARE, then the next BEGIN). */
  #send(text: string, values?: unknown[]): Promise<unknown> {
    const client = this.#data!;
    const result = this.#queue.then(() => client.query(text, values));
    this.#queue = result.catch(() => {});
    return result;
  }

  #failed(error: unknown, doing: string): void {
    const pgError = error as { message?: string; detail?: string };
    this.#failure ??= new FloeError(
      'FLOE_POSTGRES_WRITE_FAILED',
      `${this.#sink.name} could not ${doing} ${this.#sink.options.table}: ${this.#sink.redact(pgError.message ?? String(error))}${pgError.detail ? ` (${this.#sink.redact(pgError.detail)})` : ''}`,
      {
        cause: error,
        hint: 'the transaction was rolled back and nothing of it is committed; fix the rows (toRow) or the table, then restore from the last checkpoint',
      },
    );
    this.#rows = [];
    this.#byKey?.clear();
    if (this.#inTransaction) {
      this.#inTransaction = false;
      if (this.#data) this.#send('ROLLBACK').catch(() => {});
    }
  }

  /**
   * Pre-commit: the transaction's id goes into the checkpoint now (synchronously); its rows are
   * flushed and PREPAREd in the asynchronous part, which the acknowledgement waits for. A failed
   * write declines the checkpoint with the database's message.
   */
  snapshotState(checkpointId: number): Promise<void> | void {
    if (this.#lost) throw this.#lost; // thrown in the synchronous part: the task fails, not just this checkpoint
    if (this.#failure) return Promise.reject(this.#failure);
    const flushed = this.#flush();
    if (this.#exactlyOnce && this.#inTransaction) {
      const gid = transactionId(this.#prefix, this.#subtask, checkpointId);
      this.#pending.push({ checkpointId, gid });
      this.#inTransaction = false; // the next row begins the next transaction, queued after this PREPARE
      const prepared = this.#send(`PREPARE TRANSACTION ${quoteLiteral(gid)}`).then(
        () => undefined,
        (error) => this.#failed(error, 'prepare its transaction on'),
      );
      this.#lastPrepare = prepared;
      this.#pendingState.update(this.#pending);
      this.#lineageState.update([{ job: this.#lineage }]);
      return Promise.all([flushed, prepared]).then(() => this.#throwFailure());
    }
    this.#pendingState.update(this.#pending);
    this.#lineageState.update([{ job: this.#lineage }]);
    // no rows since the last barrier: this checkpoint still carries the earlier transactions in its
    // pending list, and its completion commits them, so it must not be acknowledged before they are
    // prepared (an earlier checkpoint that was aborted may not have waited for its PREPARE)
    return Promise.all([flushed, this.#lastPrepare]).then(() => this.#throwFailure());
  }

  #throwFailure(): void {
    if (this.#failure) throw this.#failure;
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const due = this.#pending.filter((t) => t.checkpointId <= checkpointId);
    if (due.length === 0) return;
    this.#pending = this.#pending.filter((t) => t.checkpointId > checkpointId);
    // notifications may overlap: commits go one after another on the control connection
    const control = this.#control!;
    const commits = this.#commits.then(async () => {
      try {
        for (const txn of due) await control.query(`COMMIT PREPARED ${quoteLiteral(txn.gid)}`);
      } catch (error) {
        // the server went away mid-commit: the task fails as on any lost connection (pg's own error said nothing of it)
        if (this.#lost || isConnectionError(error)) throw this.#connectionLost(error);
        throw error;
      }
    });
    this.#commits = commits.catch(() => {});
    await commits;
  }

  async endInput(): Promise<void> {
    // with checkpoints, the final checkpoint prepares and commits the rest
    if (this.#checkpointing) return;
    await this.#flush();
    this.#throwFailure();
    if (this.#inTransaction) {
      this.#inTransaction = false;
      await this.#send('COMMIT');
    }
  }

  /** Cancel or failure: the open transaction is rolled back by closing its connection; prepared ones stay for a restore. */
  async close(): Promise<void> {
    this.#closed = true;
    const clients = [this.#data, this.#control];
    this.#data = this.#control = null;
    this.#rows = [];
    await Promise.all(clients.map((c) => c?.end().catch(() => {})));
  }
}
