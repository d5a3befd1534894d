// PostgresSink against a real PostgreSQL 15: JetStream → word count → table with injected failures (two-phase commit), upsert mode, detection, bad rows.
import pg from 'pg';
import t, { type Test } from 'tap';
import {
  JetStreamSource,
  onFloeWarning,
  PostgresSink,
  StreamExecutionEnvironment,
  type FloeWarning,
  type JobClient,
} from '../../src/index.ts';
import { publishLines } from '../fixtures/jetstream-data.ts';
import { countWords, generateText } from '../fixtures/generate-text.ts';
import { NatsServer, natsServerAvailable } from '../helpers/nats-server.ts';
import { FailureInjector } from '../fixtures/failure-injector.ts';
import { PostgresServer, postgresUnavailable } from '../helpers/postgres-server.ts';

const missing = natsServerAvailable() ? postgresUnavailable() : 'nats-server is not installed (apt-get install -y nats-server)';
if (missing) {
  t.plan(0, `skipped: ${missing}`);
  process.exit(0);
}

const TEXT = generateText(30_000, { seed: 5, vocabulary: 800 });
const LINES = TEXT.split('\n').filter(Boolean);
const EXPECTED = [...countWords(TEXT)].sort(([a], [b]) => (a < b ? -1 : 1));

const nats = await NatsServer.start();
const pg2pc = await PostgresServer.start({ maxPreparedTransactions: 10 });
const pgPlain = await PostgresServer.start({ maxPreparedTransactions: 0 });
t.teardown(async () => {
  await nats.destroy();
  await pg2pc.stop();
  await pgPlain.stop();
});
await publishLines(nats.url, 'text', LINES, { subjects: 4 });

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values?: unknown[]): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

let tables = 0;
async function newTable(url: string, primaryKey = true): Promise<string> {
  const name = `counts_${++tables}`;
  await sql(url, `CREATE TABLE ${name} (word text ${primaryKey ? 'PRIMARY KEY' : ''}, n int NOT NULL CHECK (n < 1000000))`);
  return name;
}

const tableRows = async (url: string, table: string) =>
  (await sql<{ word: string; n: number }>(url, `SELECT word, n FROM ${table} ORDER BY word COLLATE "C"`)).map((r) => [r.word, r.n]);
const prepared = async (url: string) => (await sql<{ gid: string }>(url, 'SELECT gid FROM pg_prepared_xacts')).map((r) => r.gid);

/** The job's result, failed or not (a failed job's promise rejects with the result attached). */
const resultOf = (client: JobClient) =>
  client.getJobExecutionResult().catch((error: { result?: Awaited<ReturnType<JobClient['getJobExecutionResult']>> }) => {
    if (!error.result) throw error;
    return error.result;
  });

interface RunOptions {
  url: string;
  table: string;
  parallelism?: number;
  mode?: 'exactly-once' | 'upsert';
  /** throw in the counting function at these completed-checkpoint counts of attempts 0, 1, ... */
  failAfterCheckpoints?: number[];
  toRow?: (r: [string, number]) => unknown[];
  extraConfig?: Record<string, unknown>;
  transactionalIdPrefix?: string;
}

async function runWordCount(options: RunOptions) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': options.parallelism ?? 2,
    'execution.checkpointing.interval': '40ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 5,
    'restart-strategy.fixed-delay.delay': '20ms',
    ...options.extraConfig,
  });
  const failures = new FailureInjector(options.failAfterCheckpoints ?? [], 100, 0.2);
  env
    .fromSource(
      failures.hold(
        new JetStreamSource({ servers: nats.url, stream: 'text', subjects: ['text.0', 'text.1', 'text.2', 'text.3'], bounded: true }),
      ),
    )
    .uid('source')
    .flatMap((line: string, ctx) => {
      if (ctx.subtaskIndex === 0) failures.pace(ctx.attemptNumber);
      return line.split(' ').filter(Boolean);
    })
    .uid('split')
    .map((w: string) => [w, 1] as [string, number])
    .uid('tag')
    .keyBy((x) => x[0])
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(
      new PostgresSink({
        connectionString: options.url,
        table: options.table,
        columns: ['word', 'n'],
        toRow: options.toRow ?? (([w, n]: [string, number]) => [w, n]),
        key: ['word'],
        mode: options.mode ?? 'exactly-once',
        batchSize: 200,
        ...(options.transactionalIdPrefix ? { transactionalIdPrefix: options.transactionalIdPrefix } : {}),
      }),
    )
    .uid('sink');
  const client = await env.executeAsync('pg word count');
  failures.watch(client);
  // what each restart was for, said when a count of restarts is off
  const taskFailures: string[] = [];
  client.on('task-failed', ({ task, error, attempt }) =>
    taskFailures.push(`attempt ${attempt}, ${task}: ${(error as Error)?.message ?? error}`),
  );
  return { result: await resultOf(client), thrown: failures.thrown, taskFailures };
}

t.test(
  'exactly-once (two-phase commit) with two injected task failures: the table equals the failure-free count, no prepared transaction left',
  async (t) => {
    const table = await newTable(pg2pc.url);
    const { result, thrown, taskFailures } = await runWordCount({ url: pg2pc.url, table, failAfterCheckpoints: [2, 1] });
    t.equal(result.status, 'FINISHED', String(result.error ?? ''));
    t.equal(thrown, 2, 'both failures happened');
    t.equal(result.restarts, 2, `restarted for the injected failures only:\n${taskFailures.join('\n')}`);
    t.same(
      await tableRows(pg2pc.url, table),
      EXPECTED.map(([w, n]) => [w, n]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    );
    t.same(await prepared(pg2pc.url), [], 'no prepared transaction is left behind');
  },
);

t.test('appended rows (no key), exactly-once across a failure: each result row once', async (t) => {
  await sql(pg2pc.url, 'CREATE TABLE lines_out (line text NOT NULL)');
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': 2,
    'execution.checkpointing.interval': '100ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 3,
    'restart-strategy.fixed-delay.delay': '20ms',
  });
  const failures = new FailureInjector([2], 300, 0.2);
  env
    .fromSource(failures.hold(new JetStreamSource({ servers: nats.url, stream: 'text', bounded: true })))
    .uid('source')
    .map((line: string, ctx) => {
      failures.pace(ctx.attemptNumber);
      return line;
    })
    .uid('slow')
    .sinkTo(
      new PostgresSink({ connectionString: pg2pc.url, table: 'lines_out', columns: ['line'], toRow: (l: string) => [l], batchSize: 50 }),
    )
    .uid('sink');
  const client = await env.executeAsync('append');
  failures.watch(client);
  const result = await resultOf(client);
  t.equal(result.status, 'FINISHED');
  t.equal(failures.thrown, 1, 'the failure happened');
  const rows = (await sql<{ line: string }>(pg2pc.url, 'SELECT line FROM lines_out')).map((r) => r.line).sort();
  t.same(rows, [...LINES].sort(), 'every line once');
  t.same(await prepared(pg2pc.url), []);
});

t.test('a server with prepared transactions disabled: exactly-once is refused with the setting to change; upsert mode works', async (t) => {
  const table = await newTable(pgPlain.url);
  const refused = await runWordCount({ url: pgPlain.url, table });
  t.equal(refused.result.status, 'FAILED');
  const error = refused.result.error as { code?: string; message: string; hint?: string };
  t.equal(error.code, 'FLOE_POSTGRES_PREPARED_TRANSACTIONS_DISABLED');
  t.match(error.message, /max_prepared_transactions = 0/);
  t.match(error.hint, /max_prepared_transactions.*mode: 'upsert'/);
  t.equal(refused.result.restarts, 0, 'not restarted into the same failure');
  const upsert = await runWordCount({ url: pgPlain.url, table, mode: 'upsert', failAfterCheckpoints: [2] });
  t.equal(upsert.result.status, 'FINISHED');
  t.equal(upsert.thrown, 1);
  t.same(
    await tableRows(pgPlain.url, table),
    EXPECTED.map(([w, n]) => [w, n]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    'idempotent upserts converge to the failure-free count',
  );
});

t.test(
  "a row that violates the table's constraint: the checkpoint is declined with the database's message, nothing of it committed",
  async (t) => {
    const table = await newTable(pg2pc.url);
    const { result } = await runWordCount({
      url: pg2pc.url,
      table,
      parallelism: 1,
      toRow: ([w, n]) => [w, w === EXPECTED[0]![0] && n >= 10 ? 5_000_000 : n], // from the 10th on: a batch keeps only the last row per key
      extraConfig: { 'restart-strategy.type': 'none' },
    });
    t.equal(result.status, 'FAILED');
    const error = result.error as Error & { code?: string };
    t.match(
      String(error.message) + String((error.cause as Error | undefined)?.message ?? ''),
      /violates check constraint/,
      `the database's message is passed on: ${error.message}`,
    );
    t.same(await prepared(pg2pc.url), [], 'no prepared transaction is left behind');
    const rows = await tableRows(pg2pc.url, table);
    t.ok(
      rows.every(([, n]) => (n as number) < 1_000_000),
      'no partial commit of the bad transaction',
    );
  },
);

/** What a run killed (kill -9) after a barrier leaves: a prepared transaction holding rows, under the sink's gid format. */
async function leaveBehind(url: string, table: string, gid: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    // a word of its own per transaction: two prepared inserts of one key would wait on each other
    await client.query(`INSERT INTO ${table} (word, n) VALUES ($1, 7)`, [`zz-${gid}`]);
    await client.query(`PREPARE TRANSACTION '${gid}'`);
  } finally {
    await client.end();
  }
}

t.test(
  'a fresh start with a transactionalIdPrefix rolls back what a run killed and never resumed left prepared; without one it warns and leaves them',
  async (t) => {
    const table = await newTable(pg2pc.url);
    // an earlier run of this sink (lineage 0a0a..., old parallelism 3) and another sink's, both killed
    await leaveBehind(pg2pc.url, table, `wc:${'0a'.repeat(16)}:sink:2:5`);
    await leaveBehind(pg2pc.url, table, `other:${'0a'.repeat(16)}:sink:0:5`);
    t.equal((await prepared(pg2pc.url)).length, 2);
    const { result } = await runWordCount({ url: pg2pc.url, table, transactionalIdPrefix: 'wc' });
    t.equal(result.status, 'FINISHED', String(result.error ?? ''));
    t.same(
      await prepared(pg2pc.url),
      [`other:${'0a'.repeat(16)}:sink:0:5`],
      "the killed run's transaction is rolled back; another prefix's is not touched",
    );
    t.same(
      await tableRows(pg2pc.url, table),
      EXPECTED.map(([w, n]) => [w, n]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
      'its rows never committed',
    );
    await sql(pg2pc.url, `ROLLBACK PREPARED 'other:${'0a'.repeat(16)}:sink:0:5'`);

    const warned = await newTable(pg2pc.url);
    const gid = `floe:${'0b'.repeat(16)}:sink:1:9`;
    await leaveBehind(pg2pc.url, warned, gid);
    const warnings: FloeWarning[] = [];
    const stop = onFloeWarning((w) => warnings.push(w));
    t.teardown(stop);
    const plain = await runWordCount({ url: pg2pc.url, table: warned });
    stop();
    t.equal(plain.result.status, 'FINISHED', String(plain.result.error ?? ''));
    const lingering = warnings.filter((w) => w.code === 'FLOE_POSTGRES_LINGERING_TRANSACTIONS');
    t.equal(lingering.length, 1, 'one warning, from one subtask');
    t.match(lingering[0]?.message, new RegExp(`1 prepared transaction of another run of operator sink .*'${gid}'`));
    t.match(lingering[0]?.hint, /ROLLBACK PREPARED.*transactionalIdPrefix/);
    t.same(await prepared(pg2pc.url), [gid], 'without a prefix it may be a running job: left alone');
    await sql(pg2pc.url, `ROLLBACK PREPARED '${gid}'`);
    t.throws(
      () => new PostgresSink({ connectionString: pg2pc.url, table, columns: ['word'], toRow: (r) => [r], transactionalIdPrefix: 'a:b' }),
      /transactionalIdPrefix must be/,
    );
  },
);

t.test(
  'PostgreSQL goes away mid-job (immediate shutdown): the task fails, the restart strategy brings the job back when it returns; the table equals the failure-free count',
  async (t) => {
    const own = await PostgresServer.start({ maxPreparedTransactions: 10 });
    t.teardown(() => own.stop());
    const table = await newTable(own.url);
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 2,
      'execution.checkpointing.interval': '50ms',
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': 100,
      'restart-strategy.fixed-delay.delay': '100ms',
      // a checkpoint whose PREPARE was under way when the server went is declined: tolerated, the task's failure restarts the job
      'execution.checkpointing.tolerable-failed-checkpoints': 100,
    });
    let slow = true;
    env
      .fromSource(
        new JetStreamSource({ servers: nats.url, stream: 'text', subjects: ['text.0', 'text.1', 'text.2', 'text.3'], bounded: true }),
      )
      .uid('source')
      .flatMap((line: string) => {
        const until = performance.now() + (slow ? 0.3 : 0);
        while (performance.now() < until);
        return line.split(' ').filter(Boolean);
      })
      .uid('split')
      .map((w: string) => [w, 1] as [string, number])
      .uid('tag')
      .keyBy((x) => x[0])
      .reduce((a, b) => [a[0], a[1] + b[1]])
      .uid('count')
      .sinkTo(
        new PostgresSink({
          connectionString: own.url,
          table,
          columns: ['word', 'n'],
          toRow: (r: [string, number]) => r,
          key: ['word'],
          batchSize: 200,
          connectTimeoutMs: 300,
        }),
      )
      .uid('sink');
    const client = await env.executeAsync('pg away');
    const failures: string[] = [];
    client.on('task-failed', ({ error }) => failures.push((error as { code?: string }).code ?? String(error)));
    let completed = 0;
    let restarts = 0;
    client.on('checkpoint-completed', () => completed++);
    client.on('restarting', () => restarts++);
    while (completed < 3) await new Promise((r) => setTimeout(r, 10));
    await own.pause();
    while (restarts === 0) await new Promise((r) => setTimeout(r, 10));
    await own.resume();
    slow = false;
    const result = await resultOf(client);
    t.equal(result.status, 'FINISHED', String(result.error ?? ''));
    t.ok(result.restarts >= 1, `restarted (${result.restarts})`);
    t.ok(failures.includes('FLOE_POSTGRES_CONNECTION_LOST'), `the task failed with FLOE_POSTGRES_CONNECTION_LOST: ${failures.join(', ')}`);
    t.same(
      await tableRows(own.url, table),
      EXPECTED.map(([w, n]) => [w, n]).sort(([a], [b]) => (a! < b! ? -1 : 1)),
    );
    t.same(await prepared(own.url), [], 'no prepared transaction is left behind');
  },
);

t.test('bad input: options, a server that is down, a wrong table; the password is never printed', async (t) => {
  t.throws(() => new PostgresSink({ connectionString: 'mysql://x', table: 't', columns: ['a'], toRow: (r) => [r] }), TypeError);
  t.throws(
    () => new PostgresSink({ connectionString: pg2pc.url, table: 't', columns: ['a'], toRow: (r) => [r], key: ['b'] }),
    /key must be/,
  );
  t.throws(
    () => new PostgresSink({ connectionString: pg2pc.url, table: 't', columns: ['a'], toRow: (r) => [r], mode: 'upsert' }),
    /needs key/,
  );
  const down = new PostgresSink({
    connectionString: 'postgres://floe:s3cr3t-pw@127.0.0.1:1/floe',
    table: 't',
    columns: ['a'],
    toRow: (r) => [r],
    connectTimeoutMs: 300,
  });
  const error = await down.connect().then(
    () => null,
    (e: Error & { code?: string }) => e,
  );
  t.equal(error?.code, 'FLOE_POSTGRES_UNAVAILABLE');
  t.match(error?.message, /postgres:\/\/floe:\*\*\*@127\.0\.0\.1:1\/floe/, 'the URL is shown with its password masked');
  t.notMatch(error?.message, /s3cr3t/, 'the password is not printed');
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
  env
    .fromCollection(['a'])
    .sinkTo(new PostgresSink({ connectionString: pg2pc.url, table: 'no_such_table', columns: ['a'], toRow: (r: string) => [r] }));
  const result = await resultOf(await env.executeAsync('bad table'));
  t.equal((result.error as { code?: string }).code, 'FLOE_POSTGRES_TABLE_INVALID');
  t.match((result.error as Error).message, /no_such_table/);
});

t.test('statements: one multi-row INSERT per batch, upsert on the key, quoted names and transaction ids; passwords masked', async (t) => {
  const { insertStatement, quoteLiteral, transactionPrefix, parseTransactionId, transactionId } =
    await import('../../src/connectors/postgres-statements.ts');
  const { redactUrl } = await import('../../src/connectors/redact-url.ts');
  t.same(
    insertStatement(
      's.t',
      ['k', 'v'],
      ['k'],
      [
        ['a', 1],
        ['b', 2],
      ],
    ),
    {
      text: 'INSERT INTO "s"."t" ("k","v") VALUES ($1,$2),($3,$4) ON CONFLICT ("k") DO UPDATE SET "v" = EXCLUDED."v"',
      values: ['a', 1, 'b', 2],
    },
  );
  t.equal(insertStatement('t', ['k'], ['k'], [['a']]).text, 'INSERT INTO "t" ("k") VALUES ($1) ON CONFLICT ("k") DO NOTHING');
  t.equal(quoteLiteral("it's"), "'it''s'");
  const prefix = transactionPrefix('job1', "sink'1");
  t.same(parseTransactionId(prefix, transactionId(prefix, 3, 17)), { subtask: 3, checkpointId: 17 });
  t.equal(
    parseTransactionId(transactionPrefix('job2', "sink'1"), transactionId(prefix, 3, 17)),
    null,
    "another lineage's ids are not this sink's",
  );
  t.equal(redactUrl('postgres://u:p%40ss@h:5432/db and host=h password=secret'), 'postgres://u:***@h:5432/db and host=h password=***');
});

t.test(
  'connection settings as -D keys: connector.postgres.url and connector.postgres.password; none at all is refused before the job starts',
  async (t) => {
    const table = await newTable(pg2pc.url);
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'connector.postgres.url': pg2pc.url,
      'connector.postgres.password': 'from-config',
    });
    env
      .fromCollection([
        ['a', 1],
        ['b', 2],
      ] as Array<[string, number]>)
      .sinkTo(new PostgresSink({ table, columns: ['word', 'n'], toRow: (r: [string, number]) => r, key: ['word'] }));
    t.equal((await resultOf(await env.executeAsync('configured'))).status, 'FINISHED');
    t.same(await tableRows(pg2pc.url, table), [
      ['a', 1],
      ['b', 2],
    ]);
    const bare = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1 });
    bare.fromCollection(['a']).sinkTo(new PostgresSink({ table, columns: ['word'], toRow: (r: string) => [r] }));
    await t.rejects(bare.executeAsync('no url'), { code: 'FLOE_POSTGRES_NO_CONNECTION', hint: /-D connector\.postgres\.url=/ });
    const hidden = new PostgresSink({
      connectionString: 'postgres://floe@127.0.0.1:1/floe',
      table,
      columns: ['word'],
      toRow: (r: string) => [r],
      connectTimeoutMs: 200,
    });
    const { Configuration } = await import('../../src/index.ts');
    hidden.configure(new Configuration({ 'connector.postgres.password': 'pa55-from-D' }));
    const error = await hidden.connect().then(
      () => null,
      (e: Error) => e,
    );
    t.notMatch(String(error?.message), /pa55-from-D/, 'a password from -D is not printed either');
  },
);
