// Builds a scenario's job on the real runtime: rate-limited skewed sources, costly operators, a join, a measuring sink.
import type { StreamExecutionEnvironment } from '../api/stream-execution-environment.ts';
import type { DataStream } from '../api/data-stream.ts';
import { valueState } from '../api/state.ts';
import type { ListState, ValueState } from '../backends/types.ts';
import type { OperatorContext, Output, PollResult, Sink, Source, SourceReader, StreamOperator } from '../operators/operator.ts';
import type { OperatorSpec, Scenario, SourceSpec } from './scenario.ts';
import { seeded } from './seeded-random.ts';

/** A benchmark record: key, emit time (performance.now() at the source), payload; `s` tags a join side. */
export interface BenchRecord {
  k: number;
  t: number;
  p: string;
  s?: 0 | 1;
}

/** What the measuring sink and the sources report while a run goes on. */
export class RunProbe {
  emitted = 0;
  sunk = 0;
  /** from this time (performance.now()) on, latencies and counts are measured */
  measureFrom = Number.POSITIVE_INFINITY;
  emittedAtStart = 0;
  readonly latencies: number[] = [];
  #sample = 0;

  startMeasuring(): void {
    this.measureFrom = performance.now();
    this.emittedAtStart = this.emitted;
  }

  record(r: BenchRecord): void {
    this.sunk++;
    // every 8th record: enough for p99 without a sample per record
    if ((++this.#sample & 7) === 0 && r.t >= this.measureFrom) this.latencies.push(performance.now() - r.t);
  }
}

/** Key sampler: Zipf with exponent `skew` over `keys` keys (uniform at 0). */
function keySampler(keys: number, skew: number, random: () => number): () => number {
  if (skew === 0) return () => Math.floor(random() * keys);
  const cumulative = new Float64Array(keys);
  let sum = 0;
  for (let i = 0; i < keys; i++) cumulative[i] = sum += 1 / Math.pow(i + 1, skew);
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

class ScenarioSource implements Source<BenchRecord> {
  readonly name: string;
  constructor(
    readonly spec: SourceSpec,
    readonly probe: RunProbe,
  ) {
    this.name = `source ${spec.id}`;
  }
  createReader(): SourceReader<BenchRecord> {
    const { spec, probe } = this;
    let nextKey: () => number = () => 0;
    let perMs = 0;
    let startedAt = 0;
    let emitted = 0;
    let position!: ListState<number>;
    const payload = 'x'.repeat(spec.payloadBytes);
    return {
      open(context: OperatorContext) {
        nextKey = keySampler(spec.keys, spec.skew, seeded(1 + context.subtaskIndex));
        perMs = spec.rate / spec.parallelism / 1000;
        startedAt = performance.now();
        position = context.operatorState.getListState<number>('emitted');
      },
      poll(output: Output<BenchRecord>, max: number): PollResult {
        let n = max;
        if (perMs > 0) {
          n = Math.min(max, Math.floor((performance.now() - startedAt) * perMs) - emitted);
          if (n <= 0) return 'idle';
        }
        const t = performance.now();
        for (let i = 0; i < n; i++) output.collect({ k: nextKey(), t, p: payload });
        emitted += n;
        probe.emitted += n;
        return 'more';
      },
      snapshotState() {
        position.update([emitted]);
      },
    };
  }
}

function burn(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** A map or a join with per-record cost, selectivity, keyed state, and optionally one slow subtask. */
class ScenarioOperator implements StreamOperator<BenchRecord, BenchRecord> {
  #out!: Output<BenchRecord>;
  #state: ValueState<string> | null = null;
  #other: [ValueState<number>, ValueState<number>] | null = null;
  #delayMs = 0;
  #credit = 0;
  readonly #stateValue: string;

  constructor(
    readonly spec: OperatorSpec,
    readonly level: number,
  ) {
    this.#stateValue = 'x'.repeat(spec.stateBytes);
  }

  open(context: OperatorContext, output: Output<BenchRecord>): void {
    this.#out = output;
    const keyed = context.keyedState;
    if (keyed && this.spec.stateBytes > 0) this.#state = keyed.getState(valueState<string>('state'));
    if (keyed && this.spec.type === 'join')
      this.#other = [keyed.getState(valueState<number>('left')), keyed.getState(valueState<number>('right'))];
    const slow = this.spec.slow;
    if (slow && slow.subtask === context.subtaskIndex) this.#delayMs = slow.delayMs * this.level;
  }

  processElement(r: BenchRecord): void {
    if (this.spec.costUs > 0) burn(this.spec.costUs);
    if (this.#state) this.#state.update(this.#stateValue);
    if (this.#other && r.s !== undefined) {
      // a join that keeps the latest time of each side per key and emits when both sides were seen
      this.#other[r.s]!.update(r.t);
      if (this.#other[1 - r.s]!.value() === undefined) return;
    }
    this.#credit += this.spec.selectivity;
    while (this.#credit >= 1) {
      this.#credit -= 1;
      this.#out.collect(r);
    }
  }

  endBatch(): Promise<void> | void {
    // busy after each batch without holding the thread: a subtask on its own, slower core
    if (this.#delayMs > 0) return new Promise((resolve) => setTimeout(resolve, this.#delayMs));
  }
}

class ProbeSink implements Sink<BenchRecord> {
  readonly name = 'bench sink';
  constructor(readonly probe: RunProbe) {}
  createWriter(): StreamOperator<BenchRecord, never> {
    const probe = this.probe;
    return { open() {}, processElement: (r) => probe.record(r) };
  }
}

/** Adds the scenario's pipeline to `env`; `level` scales the slow subtask's delay (the backpressure sweep). */
export function buildScenarioJob(env: StreamExecutionEnvironment, scenario: Scenario, probe: RunProbe, level = 1): void {
  const streams = new Map<string, DataStream<BenchRecord>>();
  const consumed = new Set<string>();
  const parallelismOf = (id: string) => streams.get(id)!.transformation.parallelism ?? 1;
  for (const s of scenario.sources) {
    streams.set(s.id, env.fromSource(new ScenarioSource(s, probe)).uid(s.id).setParallelism(s.parallelism));
  }
  for (const op of scenario.operators) {
    for (const input of op.inputs) consumed.add(input);
    let input: DataStream<BenchRecord>;
    if (op.type === 'join') {
      const [left, right] = op.inputs.map((id, side) =>
        streams
          .get(id)!
          .map((r: BenchRecord) => ({ ...r, s: side as 0 | 1 }))
          .uid(`${op.id}-tag-${side}`)
          .setParallelism(parallelismOf(id)),
      );
      input = left!.union(right!).uid(`${op.id}-union`).setParallelism(op.parallelism);
    } else {
      input = streams.get(op.inputs[0]!)!;
    }
    const partitioned =
      op.edge === 'hash'
        ? input.keyBy((r: BenchRecord) => r.k)
        : op.edge === 'rebalance'
          ? input.rebalance()
          : op.edge === 'broadcast'
            ? input.broadcast()
            : input;
    streams.set(
      op.id,
      partitioned
        .transform(op.id, () => new ScenarioOperator(op, level))
        .uid(op.id)
        .setParallelism(op.parallelism),
    );
  }
  for (const [id, stream] of streams) {
    if (!consumed.has(id))
      stream
        .sinkTo(new ProbeSink(probe))
        .uid(`${id}-sink`)
        .setParallelism(stream.transformation.parallelism ?? 1);
  }
}
