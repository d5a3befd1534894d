// A source at a steady rate: wraps another source's reader and lets it emit only as many records as the rate allows so far.
//
// For walkthroughs that need a job to run long enough to act on it (stop it with a savepoint from
// another terminal) whatever the machine's speed. The wrapped reader keeps its own state, so the
// read position is checkpointed and restored as without pacing.
import type { OperatorContext, Output, PollResult, Source, SourceReader } from 'floe';

export class PacedSource<T> implements Source<T> {
  readonly name: string;

  /** `perSecond`: records per second over all subtasks of the source */
  constructor(
    readonly inner: Source<T>,
    readonly perSecond: number,
  ) {
    this.name = `${inner.name} at ${perSecond}/s`;
  }

  createReader(): SourceReader<T> {
    const reader = this.inner.createReader();
    const { perSecond } = this;
    let perMs = 0;
    let startedAt = 0;
    let emitted = 0;
    return {
      open(context: OperatorContext) {
        perMs = perSecond / context.parallelism / 1000;
        startedAt = performance.now();
        return reader.open(context);
      },
      poll(output: Output<T>, max: number): PollResult {
        const allowed = Math.floor((performance.now() - startedAt) * perMs) - emitted;
        if (allowed <= 0) return 'idle'; // the task sleeps a millisecond instead of spinning
        const budget = Math.min(max, allowed);
        emitted += budget; // a sequence reader emits its whole budget unless it ends
        return reader.poll(output, budget);
      },
      snapshotState: (checkpointId: number) => reader.snapshotState(checkpointId),
      close: () => reader.close?.(),
    };
  }
}
