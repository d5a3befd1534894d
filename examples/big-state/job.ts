// Big keyed state: a count per key over BIG_STATE_KEYS distinct keys, each seen BIG_STATE_ROUNDS times — meant for the level backend.
//
//   BIG_STATE_KEYS=10000000 npx floe run examples/big-state/job.ts --state-backend level \
//     --checkpoint-dir /tmp/big-chk --checkpoint-interval 30s -D state.checkpoints.num-retained=2
//
// Every update emits `key count`, so the committed output proves exactly-once by itself: each key
// appears with the counts 1..ROUNDS, once each (examples/big-state/check.ts checks that).
// BIG_STATE_RATE=<records/s> paces the source, so a run lasts KEYS × ROUNDS / RATE seconds on any machine.
import { fileURLToPath } from 'node:url';
import { FileSink, SequenceSource, valueState, type StreamExecutionEnvironment } from 'floe';
import { PacedSource } from './paced-source.ts';

/** Reads a positive integer from the environment; a typo should stop the run, not start a 0-key job. */
function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new TypeError(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

export const keys = () => positive('BIG_STATE_KEYS', 1_000_000);
export const rounds = () => positive('BIG_STATE_ROUNDS', 2);
/** records per second over the whole source; unset: as fast as the job goes */
export const rate = () => (process.env.BIG_STATE_RATE ? positive('BIG_STATE_RATE', 1) : null);
export const outDir = () => process.env.BIG_STATE_OUT ?? fileURLToPath(new URL('out/', import.meta.url));

/** Key of record n: the rounds visit every key in the same order, so round r updates key k to count r. */
export const keyOf = (n: number, keyCount: number) => `key-${n % keyCount}`;

export default function job(env: StreamExecutionEnvironment) {
  const keyCount = keys();
  const perSecond = rate();
  const sequence = new SequenceSource(0, keyCount * rounds() - 1);
  env
    .fromSource(perSecond === null ? sequence : new PacedSource(sequence, perSecond), 'Sequence Source')
    .uid('source')
    .map((n: number) => keyOf(n, keyCount))
    .uid('key')
    .keyBy((k) => k)
    .process((k: string, ctx) => {
      const count = ctx.getState(valueState<number>('count', 0));
      const next = count.value()! + 1;
      count.update(next);
      return `${k} ${next}`;
    })
    .uid('count')
    .sinkTo(new FileSink(outDir()))
    .uid('sink');
}
