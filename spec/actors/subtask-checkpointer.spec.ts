// The subtask checkpointer's final snapshot without checkpointing: a source's task that cannot take it still finishes, and says why.
import t from 'tap';
import { SequenceSource } from '../../src/connectors/sequence-source.ts';
import { CollectSink, StreamExecutionEnvironment } from '../../src/index.ts';
import type { SourceReader } from '../../src/operators/operator.ts';
import { onFloeWarning, type FloeWarning } from '../../src/warnings.ts';

/** A sequence source whose readers fail to snapshot their state. */
class UnsnapshottableSource extends SequenceSource {
  override createReader(): SourceReader<number> {
    const reader = super.createReader();
    return new Proxy(reader, {
      get(target, prop) {
        if (prop === 'snapshotState')
          return () => {
            throw new Error('the read position cannot be written');
          };
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

t.test("without checkpointing, a source's failed final snapshot warns with its cause and the job still finishes", async (t) => {
  const warnings: FloeWarning[] = [];
  t.teardown(onFloeWarning((w) => warnings.push(w)));
  const out: number[] = [];
  const env = StreamExecutionEnvironment.getExecutionEnvironment({ 'parallelism.default': 1, 'restart-strategy.type': 'none' });
  env
    .fromSource(new UnsnapshottableSource(1, 100), 'Numbers')
    .uid('numbers')
    .map((n: number) => n * 2)
    .uid('double')
    .sinkTo(new CollectSink(out))
    .uid('sink');
  const result = await env.execute('final state');
  t.equal(result.status, 'FINISHED');
  t.same(
    out.sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, i) => (i + 1) * 2),
    'every record, once',
  );
  const failed = warnings.filter((w) => w.code === 'FLOE_TASK_FINAL_STATE_FAILED');
  t.equal(failed.length, 1, 'one warning, from the source task');
  t.match(failed[0]?.message, /Numbers.*final state could not be snapshotted: the read position cannot be written/);
  t.match(failed[0]?.hint, /execution\.checkpointing\.interval/);
});
