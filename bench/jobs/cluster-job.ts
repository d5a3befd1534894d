// The cluster benchmark's job: a sequence, a CPU-bound map (HASH_ROUNDS of a hash loop per record), a keyed count, a thinned-out file sink.
import { FileSink, valueState, type StreamExecutionEnvironment } from '../../src/index.ts';

/** FNV-1a over the record's digits, `rounds` times: CPU work no engine can skip */
function hash(n: number, rounds: number): number {
  let h = 2166136261;
  for (let r = 0; r < rounds; r++) {
    h ^= n + r;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

export default function job(env: StreamExecutionEnvironment) {
  const records = Number(process.env.RECORDS ?? 1_000_000);
  const rounds = Number(process.env.HASH_ROUNDS ?? 0);
  env
    .fromSequence(1, records)
    .uid('source')
    .map((n: number) => (rounds > 0 ? hash(n, rounds) : n))
    .uid('hash')
    .keyBy((h: number) => h % 1024)
    .process((h: number, ctx) => {
      const count = ctx.getState(valueState<number>('count', 0));
      const next = count.value()! + 1;
      count.update(next);
      return next;
    })
    .uid('count')
    .filter((n: number) => n % 1000 === 0)
    .uid('thin')
    .sinkTo(new FileSink(process.env.OUT!))
    .uid('sink');
}
