// End to end over real processes and servers: examples/nats-to-postgres under `floe run`, SIGKILLed mid-run and resumed with -s, or started afresh; the table equals the failure-free count.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import t from 'tap';
import { publishLines } from '../fixtures/jetstream-data.ts';
import { countWords, generateText } from '../fixtures/generate-text.ts';
import { FloeRun, until } from '../helpers/floe-process.ts';
import { NatsServer, natsServerAvailable } from '../helpers/nats-server.ts';
import { PostgresServer, postgresUnavailable } from '../helpers/postgres-server.ts';

const missing = natsServerAvailable() ? postgresUnavailable() : 'nats-server is not installed (apt-get install -y nats-server)';
if (missing) {
  t.plan(0, `skipped: ${missing}`);
  process.exit(0);
}

const TEXT = generateText(20_000, { seed: 9, vocabulary: 500 });
const LINES = TEXT.split('\n').filter(Boolean);

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Ids of the completed checkpoints under the single job directory of `chk`, ascending. */
function completed(chk: string): { job: string | undefined; ids: number[] } {
  if (!existsSync(chk)) return { job: undefined, ids: [] };
  const jobs = readdirSync(chk);
  if (jobs.length !== 1) return { job: undefined, ids: [] };
  const job = join(chk, jobs[0]!);
  const ids = readdirSync(job)
    .filter((d) => /^chk-\d+$/.test(d) && existsSync(join(job, d, '_metadata')))
    .map((d) => Number(d.slice(4)));
  return { job, ids: ids.sort((a, b) => a - b) };
}

t.test('kill -9 mid-run, resume with -s <job dir>: the table equals the failure-free count, no prepared transaction left', async (t) => {
  const nats = await NatsServer.start();
  const postgres = await PostgresServer.start({ maxPreparedTransactions: 10 });
  t.teardown(async () => {
    await nats.destroy();
    await postgres.stop();
  });
  await publishLines(nats.url, 'events', LINES, { subjects: 3 });
  const dir = t.testdir();
  const chk = join(dir, 'chk');
  const env = { NATS_URL: nats.url, PG_URL: postgres.url, BOUNDED: '1', SLOW_MS: '2' };
  const args = [
    'examples/nats-to-postgres/job.ts',
    '--state-backend',
    'fs',
    '--checkpoint-dir',
    chk,
    '--checkpoint-interval',
    '100ms',
    '-p',
    '2',
    '--rest-port',
    '0',
  ];
  const first = new FloeRun(args, { env });
  await until(() => first.child.exitCode !== null || (completed(chk).ids.at(-1) ?? 0) >= 2, 'two checkpoints of the first run', 120_000);
  t.equal(first.child.exitCode, null, `the first run is still running:\n${first.log}`);
  // kill once some counts are committed (a checkpoint completed with rows in its transaction)
  for (let rows = 0; rows === 0 && first.child.exitCode === null;) {
    rows = Number((await query<{ n: string }>(postgres.url, 'SELECT count(*) AS n FROM word_counts'))[0]!.n);
  }
  first.child.kill('SIGKILL');
  t.equal((await first.exited).signal, 'SIGKILL', 'killed, not ended by itself');
  const sum = Number((await query<{ s: string | null }>(postgres.url, 'SELECT sum(n) AS s FROM word_counts'))[0]!.s ?? 0);
  const total = [...countWords(TEXT).values()].reduce((a, b) => a + b, 0);
  t.ok(sum < total, `the killed run committed only part of the counts (${sum} of ${total} words)`);
  const { job } = completed(chk);
  const second = new FloeRun([...args, '-s', job!], { env: { ...env, SLOW_MS: '0' } });
  const { code } = await second.exited;
  t.equal(code, 0, `the resumed run finished${code === 0 ? '' : `:\n${second.log}`}`);
  t.match(second.log, /restored from checkpoint \d+/);
  const rows = await query<{ word: string; n: string }>(postgres.url, 'SELECT word, n FROM word_counts');
  const table = new Map(rows.map((r) => [r.word, Number(r.n)]));
  t.same([...table].sort(), [...countWords(TEXT)].sort(), 'every word with its failure-free count');
  t.same(await query(postgres.url, 'SELECT gid FROM pg_prepared_xacts'), [], 'no prepared transaction is left behind');
});

t.test(
  'kill -9 with transactions prepared, never resumed: a fresh start with the same transactionalIdPrefix rolls them back; the table equals the failure-free count',
  async (t) => {
    const nats = await NatsServer.start();
    const postgres = await PostgresServer.start({ maxPreparedTransactions: 10 });
    t.teardown(async () => {
      await nats.destroy();
      await postgres.stop();
    });
    await publishLines(nats.url, 'events', LINES, { subjects: 3 });
    const dir = t.testdir();
    const env = { NATS_URL: nats.url, PG_URL: postgres.url, BOUNDED: '1', SLOW_MS: '2', PG_TXN_PREFIX: 'wc' };
    const args = [
      'examples/nats-to-postgres/job.ts',
      '--state-backend',
      'fs',
      '--checkpoint-dir',
      join(dir, 'chk'),
      '--checkpoint-interval',
      '100ms',
      '-p',
      '2',
      '--rest-port',
      '0',
    ];
    const first = new FloeRun(args, { env });
    await until(() => first.child.exitCode !== null || first.pid !== undefined, 'the first run', 120_000);
    const pid = first.pid!;
    const gids = async () =>
      (await query<{ gid: string }>(postgres.url, 'SELECT gid FROM pg_prepared_xacts ORDER BY gid')).map((r) => r.gid);
    // freeze the process while a transaction is prepared and not yet committed, then kill it: it leaves that one behind
    let left: string[] = [];
    // a PREPARE TRANSACTION the process sent before it was frozen still completes on the server: the prepared
    // set is read until two readings 300 ms apart agree
    const settled = async () => {
      let before = await gids();
      for (;;) {
        await new Promise((r) => setTimeout(r, 300));
        const now = await gids();
        if (now.join() === before.join()) return now;
        before = now;
      }
    };
    while (left.length === 0 && first.child.exitCode === null) {
      if ((await gids()).length === 0) continue;
      process.kill(pid, 'SIGSTOP');
      left = await settled();
      if (left.length === 0) process.kill(pid, 'SIGCONT');
    }
    process.kill(pid, 'SIGKILL');
    await first.exited;
    t.ok(left.length > 0 && left.every((g) => g.startsWith('wc:')), `the killed run left prepared transactions: ${left.join(', ')}`);
    t.same(await gids(), left, 'they stay after the kill');
    const second = new FloeRun(args, { env: { ...env, SLOW_MS: '0' } });
    const { code } = await second.exited;
    t.equal(code, 0, `the fresh run finished${code === 0 ? '' : `:\n${second.log}`}`);
    t.notMatch(second.log, /restored from checkpoint/, 'a fresh start, not a restore');
    const rows = await query<{ word: string; n: string }>(postgres.url, 'SELECT word, n FROM word_counts');
    t.same(new Map(rows.map((r) => [r.word, Number(r.n)])), countWords(TEXT), 'every word with its failure-free count');
    t.same(await gids(), [], 'no prepared transaction is left behind');
  },
);
