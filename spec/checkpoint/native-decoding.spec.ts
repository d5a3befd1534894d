// msgpackr's native string extraction: not loaded while a job starts and runs from scratch, loaded before anything is read back to be decoded.
import t from 'tap';
import * as msgpackr from 'msgpackr/pack';
import { CollectSink, StreamExecutionEnvironment } from 'floe';
import { packStateValue, valuePackr } from '../../src/checkpoint/state-value-codec.ts';
import { MemoryCheckpointStorage } from '../../src/storage/memory-checkpoint-storage.ts';

/** msgpackr's live binding (on Node, 'msgpackr/pack' is its entry without the addon; its typings leave the flag out) */
const native = () => (msgpackr as unknown as { isNativeAccelerationEnabled: boolean }).isNativeAccelerationEnabled;

t.test(
  'a checkpointed job on the memory backend runs without the addon; a read for a restore loads it, and decodes the same',
  async (t) => {
    t.equal(native(), false, 'not loaded by importing floe');
    const env = StreamExecutionEnvironment.getExecutionEnvironment({
      'parallelism.default': 1,
      'execution.checkpointing.interval': 60_000,
    });
    const out: Array<[string, number]> = [];
    env
      .fromCollection(['to be or', 'not to be'])
      .flatMap((line: string) => line.split(' '))
      .map((w: string): [string, number] => [w, 1])
      .keyBy((p) => p[0])
      .reduce((a, b) => [a[0], a[1] + b[1]])
      .sinkTo(new CollectSink(out));
    const result = await env.execute('counts');
    t.equal(result.checkpoints.completed, 1, "the end of input's checkpoint was taken");
    t.same(
      new Map(out),
      new Map([
        ['to', 2],
        ['be', 2],
        ['or', 1],
        ['not', 1],
      ]),
    );
    t.equal(native(), false, 'not loaded by a run that restored nothing');

    // long and non-ASCII strings, past the size from which msgpackr extracts strings natively
    const value = { words: ['x'.repeat(300), 'grüße '.repeat(40), 'ok'], counts: new Map([['ß', 1]]) };
    const bytes = packStateValue(value, 'a test value');
    const inJavaScript = valuePackr.unpack(bytes);
    const read = await new MemoryCheckpointStorage().forSubtask('counts', 0).read({ type: 'bytes', bytes, size: bytes.length });
    t.equal(native(), true, 'loaded before the bytes came back');
    t.same(valuePackr.unpack(read), inJavaScript);
    t.same(inJavaScript, value);
  },
);
