// Backpressure: a slow sink holds back a fast source through credits, so queues and records in flight stay bounded.
import t from 'tap';
import { CollectSink, StreamExecutionEnvironment, type Sink, type StreamOperator } from '../../src/index.ts';

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the thread, as a sink stuck on a slow disk or a remote service would. */
const sleepSync = (ms: number) => Atomics.wait(pause, 0, 0, ms);

/** Counts what the source emitted and what reached the sink: their difference is what the job holds in flight. */
class Flow {
  produced = 0;
  consumed = 0;
  maxInFlight = 0;
}

/** A CollectSink whose writer pauses 1 ms every `every` records. */
class SlowSink<T> implements Sink<T> {
  readonly name = 'Slow Sink';
  readonly inner: CollectSink<T>;
  constructor(
    target: T[],
    readonly flow: Flow,
    readonly every: number,
  ) {
    this.inner = new CollectSink(target);
  }
  createWriter(): StreamOperator<T, never> {
    const writer = this.inner.createWriter();
    const write = writer.processElement.bind(writer);
    writer.processElement = (record: T) => {
      const flow = this.flow;
      flow.maxInFlight = Math.max(flow.maxInFlight, flow.produced - flow.consumed);
      if (++flow.consumed % this.every === 0) sleepSync(1);
      write(record);
    };
    return writer;
  }
}

const BATCH = 256;
const CREDITS = 4;

async function run(n: number, every: number) {
  const flow = new Flow();
  const results: number[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment({
    // fan-in: four source subtasks feed one sink subtask, so producers can outrun the consumer
    'parallelism.default': 4,
    'execution.checkpointing.interval': '50ms',
    'taskmanager.network.batch-size': BATCH,
    'taskmanager.network.memory.buffers-per-channel': CREDITS,
  });
  env
    .fromSequence(1, n)
    .uid('source')
    .map((i: number) => (flow.produced++, i))
    .uid('count-produced')
    .rebalance()
    .sinkTo(new SlowSink(results, flow, every))
    .uid('slow-sink')
    .setParallelism(1);
  const client = await env.executeAsync('backpressure');
  const result = await client.getJobExecutionResult();
  return { flow, results, result, execution: client.master.execution! };
}

t.test("a slow sink keeps the fast source's queued buffers bounded, and the result complete", async (t) => {
  const n = 60_000;
  const { flow, results, result, execution } = await run(n, 64);
  t.equal(result.status, 'FINISHED');
  t.ok(result.checkpoints.completed > 0, `checkpoints complete under backpressure (${result.checkpoints.completed})`);

  // exactly once, nothing lost: the sink holds every number once
  t.equal(results.length, n, 'every record reached the sink');
  t.same(
    [...results].sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i + 1),
    'each number exactly once',
  );

  const sinkTask = execution.tasks.find((task) => task.name.startsWith('Slow Sink'))!;
  t.equal(sinkTask.gate.channels.length, 4, 'the sink reads one channel per source subtask');
  const buffersSent = n / BATCH;
  // credits bound a channel; one source step (a quarter buffer) may spill one buffer past them
  for (const ch of sinkTask.gate.channels) {
    t.ok(ch.maxQueuedData <= CREDITS + 1, `channel ${ch.index} held at most ${ch.maxQueuedData} buffers (credits ${CREDITS})`);
  }
  t.ok(execution.maxQueuedBuffers() <= CREDITS + 1, `ExecutionGraph.maxQueuedBuffers() = ${execution.maxQueuedBuffers()}`);
  t.ok(buffersSent > 10 * (CREDITS + 1) * 4, `the source had far more data (${Math.round(buffersSent)} buffers) than the queues hold`);
  // what the source emitted but the sink had not taken: queued buffers plus each producer's open buffer and one poll
  const bound = 4 * ((CREDITS + 1) * BATCH + BATCH + BATCH / 4);
  t.ok(flow.maxInFlight <= bound, `records in flight at most ${flow.maxInFlight} (bound ${bound}, of ${n})`);
  t.ok(flow.maxInFlight >= CREDITS * BATCH, 'the queues did fill: the sink was the bottleneck');
});
