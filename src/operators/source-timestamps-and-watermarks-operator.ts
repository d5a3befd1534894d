// fromSource(source, strategy): timestamps and watermarks per source split, combined into the subtask's (Flink's ProgressiveTimestampsAndWatermarks).
import type { Output } from './operator.ts';
import { TimestampsAndWatermarksOperator } from './timestamps-and-watermarks-operator.ts';
import type { WatermarkGenerator, WatermarkOutput } from './watermark-strategy.ts';

interface SplitOutput<T> {
  readonly output: Output<T>;
  readonly generator: WatermarkGenerator<T>;
  readonly wm: WatermarkOutput;
}

/**
 * Chained behind a source reader: a reader that asks for an output per split (`ReaderOutput.forSplit`)
 * gets one with its own timestamp assigner and watermark generator (and idleness), and the subtask's
 * watermark is the minimum over its splits, so a split far ahead in event time does not make a slower
 * one's records late. A reader that collects into the output itself gets one generator for the subtask,
 * as `assignTimestampsAndWatermarks` does.
 */
export class SourceTimestampsAndWatermarksOperator<T> extends TimestampsAndWatermarksOperator<T> {
  readonly #splits = new Map<string, SplitOutput<T>>();
  /** records were collected without a split: the subtask's own generator keeps counting */
  #mainRecords = false;

  override processElement(record: T): void {
    this.#mainRecords = true;
    super.processElement(record);
  }

  forSplit(splitId: string): Output<T> {
    let split = this.#splits.get(splitId);
    if (split) return split.output;
    if (typeof splitId !== 'string') throw new TypeError('forSplit needs the split id as a string');
    const generator = this.strategy.createGenerator(this.clock);
    const wm = this.mux.register(`split:${splitId}`);
    const output: Output<T> = { collect: (record) => this.collectWith(record, generator, wm) };
    split = { output, generator, wm };
    this.#splits.set(splitId, split);
    // a generator that never sees a record would hold the splits' watermark at the minimum
    if (!this.#mainRecords) this.countMain(false);
    return output;
  }

  releaseSplit(splitId: string): void {
    if (!this.#splits.delete(splitId)) return;
    this.mux.unregister(`split:${splitId}`);
    // no split left: the subtask's generator counts again (idleness marks a reader without splits idle)
    if (this.#splits.size === 0) this.countMain(true);
  }

  protected override periodicEmit(): void {
    super.periodicEmit();
    for (const split of this.#splits.values()) split.generator.onPeriodicEmit(split.wm);
  }
}
