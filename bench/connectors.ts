// Connectors: floe's JetStream read rate against the nats client's own consume loop, and PostgresSink's exactly-once insert rate against a plain batched pg loop.
//
// Starts its own nats-server and PostgreSQL (as the specs do); FLOE_BENCH_MESSAGES and FLOE_BENCH_ROWS set the sizes,
// FLOE_BENCH_RUNS (3) the interleaved rounds whose medians are compared.
import { connect } from 'nats';
import pg from 'pg';
import { JetStreamSource, PostgresSink, SequenceSource, StreamExecutionEnvironment } from '../src/index.ts';
import type { Sink, StreamOperator } from '../src/operators/operator.ts';
import { insertStatement } from '../src/connectors/postgres-statements.ts';
import { publishLines } from '../spec/fixtures/jetstream-data.ts';
import { NatsServer } from '../spec/helpers/nats-server.ts';
import { PostgresServer } from '../spec/helpers/postgres-server.ts';
import { printTable, writeResults } from './report.ts';

const MESSAGES = Number(process.env.FLOE_BENCH_MESSAGES ?? 200_000);
const ROWS = Number(process.env.FLOE_BENCH_ROWS ?? 200_000);
const BATCH = 1000;
/** interleaved rounds per case; the median is reported */
const RUNS = Number(process.env.FLOE_BENCH_RUNS ?? 3);

/** Counts records and drops them: the read rate is the source's, not a sink's. */
class CountingSink implements Sink<unknown> {
  readonly name = 'Counting';
  count = 0;
  createWriter(): StreamOperator<unknown, never> {
    return { open: () => {}, processElement: () => void this.count++ };
  }
}

const nats = await NatsServer.start();
const postgres = await PostgresServer.start({ maxPreparedTransactions: 10 });
try {
  console.log(`publishing ${MESSAGES.toLocaleString()} messages...`);
  const line = 'the quick brown fox jumps over the lazy dog '.repeat(2).trim();
  await publishLines(
    nats.url,
    'bench',
    Array.from({ length: MESSAGES }, (_, i) => `${i} ${line}`),
  );

  // the nats client alone: an ordered consumer, every message decoded as text, as the source does
  const plainRead = async () => {
    const nc = await connect({ servers: nats.url });
    const t0 = performance.now();
    const consumer = await nc.jetstream().consumers.get('bench');
    const messages = await consumer.consume({ max_messages: 1024 });
    let n = 0;
    const decoder = new TextDecoder();
    for await (const m of messages) {
      if (decoder.decode(m.data).length > 0) n++;
      if (m.seq >= MESSAGES) break;
    }
    const ms = performance.now() - t0;
    await nc.close();
    return { n, ms };
  };
  const floeRead = async () => {
    const sink = new CountingSink();
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1, 'execution.checkpointing.interval': '1s' });
    env
      .fromSource(new JetStreamSource({ servers: nats.url, stream: 'bench', bounded: true }))
      .uid('source')
      .sinkTo(sink)
      .uid('sink');
    const t0 = performance.now();
    await env.execute('jetstream read');
    return { n: sink.count, ms: performance.now() - t0 };
  };

  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await client.query('CREATE TABLE bench_rows (id bigint NOT NULL, name text NOT NULL, score double precision NOT NULL)');
  const row = (i: number) => [i, `name-${i % 1000}`, i / 7];
  const plainInsert = async () => {
    await client.query('TRUNCATE bench_rows');
    const t0 = performance.now();
    for (let i = 0; i < ROWS; i += BATCH) {
      const rows: unknown[][] = [];
      for (let k = i; k < Math.min(ROWS, i + BATCH); k++) rows.push(row(k));
      const { text, values } = insertStatement('bench_rows', ['id', 'name', 'score'], undefined, rows);
      await client.query(text, values);
    }
    return { n: Number((await client.query('SELECT count(*) AS n FROM bench_rows')).rows[0].n), ms: performance.now() - t0 };
  };
  const floeInsert = async () => {
    await client.query('TRUNCATE bench_rows');
    const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1, 'execution.checkpointing.interval': '1s' });
    env
      .fromSource(new SequenceSource(0, ROWS - 1))
      .uid('source')
      .sinkTo(
        new PostgresSink({
          connectionString: postgres.url,
          table: 'bench_rows',
          columns: ['id', 'name', 'score'],
          toRow: row,
          batchSize: BATCH,
        }),
      )
      .uid('sink');
    const t0 = performance.now();
    await env.execute('postgres insert');
    return { n: Number((await client.query('SELECT count(*) AS n FROM bench_rows')).rows[0].n), ms: performance.now() - t0 };
  };

  // one warm-up of each, then RUNS rounds interleaved (plain, floe, plain, floe, ...): on a shared
  // machine the load drifts, and a median over interleaved rounds compares like with like
  await plainRead();
  await floeRead();
  const median = (runs: Array<{ n: number; ms: number }>) => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)]!;
  const rounds = {
    plainRead: [] as Array<{ n: number; ms: number }>,
    floeRead: [] as Array<{ n: number; ms: number }>,
    plainInsert: [] as Array<{ n: number; ms: number }>,
    floeInsert: [] as Array<{ n: number; ms: number }>,
  };
  for (let r = 0; r < RUNS; r++) {
    rounds.plainRead.push(await plainRead());
    rounds.floeRead.push(await floeRead());
    rounds.plainInsert.push(await plainInsert());
    rounds.floeInsert.push(await floeInsert());
  }
  const reads = { plain: median(rounds.plainRead), floe: median(rounds.floeRead) };
  const inserts = { plain: median(rounds.plainInsert), floe: median(rounds.floeInsert) };
  await client.end();
  const rate = (r: { n: number; ms: number }) => Math.round(r.n / (r.ms / 1000));
  const rows = [
    {
      case: `JetStream read (${MESSAGES.toLocaleString()} messages of ${line.length + 7} bytes)`,
      plain: rate(reads.plain),
      floe: rate(reads.floe),
      ratio: (rate(reads.floe) / rate(reads.plain)).toFixed(2),
    },
    {
      case: `Postgres insert (${ROWS.toLocaleString()} rows, batches of ${BATCH})`,
      plain: rate(inserts.plain),
      floe: rate(inserts.floe),
      ratio: (rate(inserts.floe) / rate(inserts.plain)).toFixed(2),
    },
  ];
  printTable(rows.map((r) => ({ case: r.case, 'plain client /s': r.plain, 'floe /s': r.floe, 'floe / plain': r.ratio })));
  for (const [what, r] of [
    ['read', reads],
    ['insert', inserts],
  ] as const) {
    if (r.plain.n !== r.floe.n) console.log(`warning: ${what} counts differ: plain ${r.plain.n}, floe ${r.floe.n}`);
  }
  console.log(
    `\nfloe's PostgresSink is exactly-once (one transaction per checkpoint, PREPARE + COMMIT PREPARED); the plain loop commits each batch on its own.`,
  );
  console.log(`results: ${writeResults('connectors', { messages: MESSAGES, rows: ROWS, runs: RUNS, reads, inserts, rounds })}`);
} finally {
  await nats.destroy();
  await postgres.stop();
}
