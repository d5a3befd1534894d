// The CLI's checkpoints: `floe checkpoints <job-id>` over REST, `floe checkpoints <dir> [job-id]` offline, and `floe run --state-backend fs --checkpoint-dir ... -s ...`.
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import type { StateHandle } from '../../src/backends/types.ts';
import { isDirectoryArgument, printCheckpoints } from '../../src/cli/checkpoints-command.ts';
import { main } from '../../src/cli/main.ts';
import { JobRegistry, startRestServer } from '../../src/server/rest-server.ts';
import { FileCheckpointStorage } from '../../src/storage/file-checkpoint-storage.ts';
import { generateText } from '../fixtures/generate-text.ts';
import { wordCountEnv } from '../fixtures/wordcount-job.ts';

const checkpoint = (id: number, keyed: StateHandle) => ({
  id,
  kind: 'checkpoint' as const,
  timestamp: Date.UTC(2025, 0, 1, 0, 0, id),
  completedAt: 0,
  durationMs: 0,
  stateSize: 0,
  maxParallelism: 128,
  operators: { count: { parallelism: 1, subtasks: [{ keyed, operator: {} }] } },
});

t.test('floe checkpoints <job-id> names each subtask as people read it: Name (1/2)', async (t) => {
  const dir = t.testdir({ 'in.txt': generateText(20_000, { seed: 5, vocabulary: 500 }) });
  const client = await wordCountEnv({ input: join(dir, 'in.txt'), out: join(dir, 'out'), parallelism: 2, slowMs: 0.3 }).executeAsync(
    'named',
  );
  const jobs = new JobRegistry();
  jobs.add(client);
  const { app, port } = await startRestServer(jobs, { address: '127.0.0.1', port: 0, allowedDirs: [dir], bodyLimit: 1024 });
  await new Promise<void>((resolve) => client.on('checkpoint-completed', () => resolve()));

  // the command prints with process.stdout: keep its lines while it runs
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => (lines.push(...String(chunk).split('\n').filter(Boolean)), true)) as typeof write;
  let code: number;
  try {
    code = await main(['node', 'floe', 'checkpoints', client.jobId, '-m', `127.0.0.1:${port}`], (l) => lines.push(l));
  } finally {
    process.stdout.write = write;
    // before t.testdir's cleanup: the sink writes into the directory until the job ends
    await client.cancel();
    await app.close();
  }
  t.equal(code, 0, lines.join('\n'));
  const completed = lines.findIndex((l) => /^checkpoint \d+ COMPLETED/.test(l));
  t.ok(completed >= 0, lines.join('\n'));
  const rows = lines
    .slice(completed + 1)
    .filter((l) => l.startsWith('  '))
    .map((l) => l.slice(2, l.indexOf(': alignment')));
  const source = 'Text File Source -> Map -> FlatMap -> Map';
  const counter = `Reduce -> FileSink(${join(dir, 'out')})`;
  for (const name of [`${source} (1/2)`, `${source} (2/2)`, `${counter} (1/2)`, `${counter} (2/2)`])
    t.ok(rows.includes(name), `a row for ${name}`);
  t.notOk(
    lines.some((l) => /v\d+#\d/.test(l)),
    'no internal subtask ids',
  );
});

t.test('floe checkpoints lists id, time, size, full or incremental, and the shared files of each checkpoint', async (t) => {
  const dir = t.testdir();
  const storage = new FileCheckpointStorage({ dir, jobId: 'job-a', memoryThreshold: 0, numRetained: 3 });
  const sub = storage.forSubtask('count', 0);
  const base = await sub.write(1, 'shared', Buffer.alloc(2048, 1));
  await storage.persist(checkpoint(1, base));
  const delta = await sub.write(2, 'shared', Buffer.alloc(100, 2));
  await storage.persist(checkpoint(2, { type: 'incremental', base, deltas: [delta], size: 2148 }));
  await storage.persist(checkpoint(3, await sub.write(3, 'exclusive', Buffer.alloc(10, 3))));
  truncateSync(join(storage.checkpointDir(3), '_metadata'), 20);
  const lines: string[] = [];
  await printCheckpoints(dir, undefined, (l) => lines.push(l));
  const names = readdirSync(storage.sharedDir).sort();
  t.equal(lines[0], 'job job-a: 3 checkpoints');
  t.match(lines[1], /^ {2}chk-3 {2}unusable: .*truncated/);
  t.match(lines[2], new RegExp(`^  chk-2  2025-01-01T00:00:02.000Z +2\\.\\d KiB  incremental  shared: ${names.join(', ')}$`));
  t.match(
    lines[3],
    new RegExp(
      `^  chk-1  2025-01-01T00:00:01.000Z .*  full  shared: ${names.find((n) => readdirSync(storage.sharedDir).includes(n) && base.type === 'file' && base.path.endsWith(n))}$`,
    ),
  );
  t.ok(isDirectoryArgument(dir));
  t.notOk(isDirectoryArgument('a1b2c3-job-id'), 'a job id is not taken for a directory (the REST form of issue 5)');
  const out: string[] = [];
  t.equal(await main(['node', 'floe', 'checkpoints', join(dir, 'nowhere')], (l) => out.push(l)), 1);
  t.match(out, [/^error FLOE_CHECKPOINT_NOT_FOUND/, /^hint: /]);
  await t.rejects(
    printCheckpoints(dir, 'job-b', () => {}),
    { code: 'FLOE_CHECKPOINT_NOT_FOUND' },
  );
});

t.test(
  'floe run: --state-backend fs writes checkpoints under --checkpoint-dir; -s resumes from them; no dir is a clear error',
  async (t) => {
    const dir = t.testdir({ 'in.txt': Array.from({ length: 3000 }, (_, i) => `w${i % 50} x${i % 7}`).join('\n') + '\n' });
    const index = resolve('src/index.ts');
    writeFileSync(
      join(dir, 'job.ts'),
      `
import { FileSink } from ${JSON.stringify(index)};
export default function job(env: any) {
  env.readTextFile(${JSON.stringify(join(dir, 'in.txt'))}).uid('source')
    .flatMap((l: string) => l.split(' ')).uid('split')
    .map((w: string) => [w, 1]).uid('tag')
    .keyBy((x: [string, number]) => x[0])
    .reduce((a: [string, number], b: [string, number]) => [a[0], a[1] + b[1]]).uid('count')
    .sinkTo(new FileSink(${JSON.stringify(join(dir, 'out'))})).uid('sink');
}
`,
    );
    const chk = join(dir, 'chk');
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const code = await main(['node', 'floe', 'run', join(dir, 'job.ts'), '-q', ...args], (l) => out.push(l));
      return { code, out };
    };
    const missing = await run('--state-backend', 'fs', '--checkpoint-interval', '20ms');
    t.equal(missing.code, 1);
    t.match(missing.out, [/^error FLOE_CHECKPOINT_DIR_MISSING/, /--checkpoint-dir/]);

    const first = await run(
      '--state-backend',
      'fs',
      '--checkpoint-dir',
      chk,
      '--checkpoint-interval',
      '20ms',
      '-D',
      'execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION',
    );
    t.equal(first.code, 0, first.out.join('\n'));
    const [jobId] = readdirSync(chk);
    const chks = readdirSync(join(chk, jobId!)).filter((f) => f.startsWith('chk-'));
    t.equal(chks.length, 1, 'num-retained 1, kept when the job finished (RETAIN_ON_CANCELLATION)');
    const second = await run(
      '--state-backend',
      'fs',
      '--checkpoint-dir',
      chk,
      '--checkpoint-interval',
      '20ms',
      '-s',
      join(chk, jobId!, chks[0]!),
    );
    t.equal(second.code, 0, second.out.join('\n'));
    t.match(second.out.join('\n'), new RegExp(`restored from checkpoint ${chks[0]!.slice(4)}`));
    t.notMatch(second.out.join('\n'), /savepoint/, 'a checkpoint is called a checkpoint');
    t.notMatch(second.out.join('\n'), /FLOE_SINK_OTHER_JOB_PARTS/, 'the restored run continues its own output');
    const bad = await run('--state-backend', 'fs', '--checkpoint-dir', chk, '--from-checkpoint', join(dir, 'none'));
    t.equal(bad.code, 1);
    t.match(
      bad.out.filter((l) => !l.startsWith('warning')),
      [/^error FLOE_CHECKPOINT_NOT_FOUND/],
    );
  },
);
