// Word count from NATS JetStream into PostgreSQL, exactly once: the stream's lines are counted per word, the counts upserted into a table.
//
//   NATS_URL=nats://127.0.0.1:4222 PG_URL=postgres://floe@127.0.0.1:5432/floe \
//     npx floe run examples/nats-to-postgres/job.ts --state-backend fs --checkpoint-dir /tmp/chk --checkpoint-interval 1s
//
// Settings from the environment: NATS_URL, NATS_STREAM (default `events`, subjects `events.>`),
// PG_URL, PG_TABLE (default `word_counts`, created if missing), PG_MODE (`exactly-once`, the
// default, needs max_prepared_transactions > 0; or `upsert`), BOUNDED=1 to stop at the stream's
// end as it was at the first start, SLOW_MS (a pause per line, so a demo run can be killed), and
// PG_TXN_PREFIX: the sink's transactionalIdPrefix (a fresh start then rolls back what a killed,
// never resumed run left prepared).
import pg from 'pg';
import { JetStreamSource, PostgresSink, type StreamExecutionEnvironment } from 'floe';

export const natsUrl = () => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const pgUrl = () => process.env.PG_URL ?? 'postgres://floe@127.0.0.1:5432/floe';
export const streamName = () => process.env.NATS_STREAM ?? 'events';
export const tableName = () => process.env.PG_TABLE ?? 'word_counts';

/** Creates the result table if missing (a job file may do setup work before it builds the pipeline). */
export async function createTable(url = pgUrl(), table = tableName()): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS "${table}" (word text PRIMARY KEY, n bigint NOT NULL)`);
  } finally {
    await client.end();
  }
}

export default async function job(env: StreamExecutionEnvironment) {
  await createTable();
  const slowMs = Number(process.env.SLOW_MS ?? 0);
  const mode = process.env.PG_MODE === 'upsert' ? 'upsert' : 'exactly-once';
  env
    .fromSource(
      new JetStreamSource({
        servers: natsUrl(),
        stream: streamName(),
        subjects: [`${streamName()}.>`],
        bounded: process.env.BOUNDED === '1',
      }),
    )
    .uid('events')
    .flatMap((line: string) => {
      if (slowMs > 0) {
        const until = performance.now() + slowMs;
        while (performance.now() < until); // a demo pace: the run lasts long enough to be killed
      }
      return line.split(/\s+/).filter(Boolean);
    })
    .uid('split')
    .map((word: string) => [word, 1] as [string, number])
    .uid('tag')
    .keyBy(([word]) => word)
    .reduce((a, b) => [a[0], a[1] + b[1]])
    .uid('count')
    .sinkTo(
      new PostgresSink({
        connectionString: pgUrl(),
        table: tableName(),
        columns: ['word', 'n'],
        toRow: ([w, n]: [string, number]) => [w, n],
        key: ['word'],
        mode,
        ...(process.env.PG_TXN_PREFIX ? { transactionalIdPrefix: process.env.PG_TXN_PREFIX } : {}),
      }),
    )
    .uid('word-counts');
}
