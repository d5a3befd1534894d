// End to end: a keyed process function keeps a Map and a Set in ValueState; after a failure and restore, and after a savepoint restored on another backend, they are still exactly a Map and a Set.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FileSink, StreamExecutionEnvironment, valueState, type JobClient } from '../../src/index.ts';

const USERS = 37;
const EVENTS = 23;
const LINES = 12_000;
const TEXT = Array.from({ length: LINES }, (_, i) => `u${i % USERS} ${(i * 7) % EVENTS}`).join('\n') + '\n';

/** Each (user, event) occurrence once: [user, event, its count so far, first time seen]. */
function expectedLines(): string[] {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  for (const line of TEXT.split('\n').filter(Boolean)) {
    const [user, event] = line.split(' ');
    const n = (counts.get(line) ?? 0) + 1;
    counts.set(line, n);
    lines.push(JSON.stringify([user, Number(event), n, n === 1]));
  }
  return lines.sort();
}

interface Options {
  input: string;
  out: string;
  parallelism: number;
  config: Record<string, unknown>;
  /** throw once from subtask 0 of the first attempt after this many checkpoints completed */
  failAfter?: number;
  slowMs: number;
}

function job(options: Options): { env: StreamExecutionEnvironment; thrown: () => number; attach: (c: JobClient) => void } {
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    'parallelism.default': options.parallelism,
    'execution.checkpointing.interval': '40ms',
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 3,
    'restart-strategy.fixed-delay.delay': '10ms',
    'taskmanager.network.batch-size': 64,
    ...options.config,
  });
  let completed = 0;
  let thrown = 0;
  env
    .readTextFile(options.input)
    .uid('source')
    .map((line: string) => {
      const until = performance.now() + options.slowMs;
      while (performance.now() < until);
      const [user, event] = line.split(' ');
      // records carry a Map too: through the network, and in-flight data of unaligned checkpoints
      return { user: user!, tags: new Map([[Number(event), new Date(Number(event) * 1000)]]) };
    })
    .uid('parse')
    .keyBy((r) => r.user)
    .process((r: { user: string; tags: Map<number, Date> }, ctx) => {
      if (
        options.failAfter !== undefined &&
        thrown === 0 &&
        ctx.attemptNumber === 0 &&
        ctx.subtaskIndex === 0 &&
        completed >= options.failAfter
      ) {
        thrown++;
        throw new Error('injected failure');
      }
      const counts = ctx.getState(valueState<Map<number, number>>('counts'));
      const seen = ctx.getState(valueState<Set<number>>('seen'));
      const m = counts.value() ?? new Map<number, number>();
      const s = seen.value() ?? new Set<number>();
      // a restored plain object in place of the Map (or Set) fails here, every attempt: the job fails
      if (!(m instanceof Map) || !(s instanceof Set) || !(r.tags instanceof Map))
        throw new Error(`state is not a Map/Set: ${JSON.stringify([m, [...(s as Set<number>)]])}`);
      const [event, at] = [...r.tags][0]!;
      if (typeof event !== 'number' || !(at instanceof Date) || at.getTime() !== event * 1000)
        throw new Error(`record tags changed: ${String(event)}`);
      for (const k of m.keys()) if (typeof k !== 'number') throw new Error(`Map key became ${typeof k}`);
      const first = !s.has(event);
      m.set(event, (m.get(event) ?? 0) + 1);
      s.add(event);
      counts.update(m);
      seen.update(s);
      return JSON.stringify([r.user, event, m.get(event), first]);
    })
    .uid('track')
    .sinkTo(new FileSink(options.out))
    .uid('sink');
  return {
    env,
    thrown: () => thrown,
    attach: (client) => {
      client.on('restarting', () => (completed = 0));
      client.on('checkpoint-completed', (cp) => {
        if (cp.kind === 'checkpoint') completed++;
      });
    },
  };
}

function visibleLines(out: string): string[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean));
}

const EXPECTED = expectedLines();

t.test('level with no value cache, unaligned checkpoints, a failure: restored Maps and Sets are exact, output exactly once', async (t) => {
  const dir = t.testdir({ 'in.txt': TEXT });
  const out = join(dir, 'out');
  const config = {
    'state.backend.type': 'level',
    'state.backend.level.cache-size': 0,
    'state.checkpoints.dir': join(dir, 'cp'),
    'execution.checkpointing.unaligned': true,
  };
  const j = job({ input: join(dir, 'in.txt'), out, parallelism: 2, config, failAfter: 2, slowMs: 0.1 });
  const client = await j.env.executeAsync('map-set-state');
  j.attach(client);
  const result = await client.getJobExecutionResult();
  t.equal(result.status, 'FINISHED', String(result.error ?? ''));
  t.equal(j.thrown(), 1, 'the failure happened');
  t.equal(result.restarts, 1, 'one restart, from a checkpoint holding the Maps and Sets');
  t.same(visibleLines(out).sort(), EXPECTED, 'every (user, event) count exactly once, first-seen right');
});

for (const [from, to] of [
  ['memory', 'level'],
  ['level', 'fs'],
] as const) {
  t.test(`savepoint on ${from}, restored on ${to}: Maps and Sets exact, output exactly once`, async (t) => {
    const dir = t.testdir({ 'in.txt': TEXT });
    const out = join(dir, 'out');
    const input = join(dir, 'in.txt');
    const backend = (b: string) => ({
      'state.backend.type': b,
      'state.backend.level.cache-size': 0,
      'state.checkpoints.dir': join(dir, `cp-${b}`),
    });
    const first = job({ input, out, parallelism: 2, config: backend(from), slowMs: 0.15 });
    const client = await first.env.executeAsync('map-set-state');
    await new Promise<void>((resolve) => client.on('checkpoint-completed', (cp) => cp.kind === 'checkpoint' && resolve()));
    const path = await client.stopWithSavepoint(join(dir, 'sp'));
    t.equal((await client.getJobExecutionResult()).status, 'FINISHED');
    const partial = visibleLines(out).length;
    t.ok(partial > 0 && partial < EXPECTED.length, `stopped in the middle (${partial} of ${EXPECTED.length} lines)`);

    const second = job({ input, out, parallelism: 3, config: { ...backend(to), 'execution.savepoint.path': path }, slowMs: 0 });
    const restored = await second.env.executeAsync('map-set-state');
    const result = await restored.getJobExecutionResult();
    t.equal(result.status, 'FINISHED', String(result.error ?? ''));
    t.equal(result.restarts, 0, 'no restart: the restored state was a Map and a Set');
    t.same(visibleLines(out).sort(), EXPECTED, 'both runs together: every count exactly once, first-seen right');
  });
}
