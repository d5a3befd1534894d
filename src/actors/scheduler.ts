// The cooperative run loop: runs ready tasks in time slices and yields so timers and I/O never starve.

export interface Runnable {
  /** one unit of work; true if the task can run again right away */
  step(): boolean;
}

/**
 * Whether the process's run loop is busy: the last slice of any scheduler ended with tasks still
 * ready, so the event loop gets one turn per slice and every I/O completion waits for one. Long
 * background reads (a LevelDB snapshot scan) read in big batches then, in small ones otherwise:
 * the operator chain hands keyed backends `runLoopBusy`, since the state layer imports nothing from here.
 */
export const runLoop = { busy: false };

export class Scheduler {
  readonly #ready = new Set<Runnable>();
  #scheduled = false;
  #stopped = false;
  /** slices run / yields to the event loop, for specs and metrics */
  slices = 0;

  constructor(
    /** how long one slice may run before the loop yields to the event loop */
    readonly sliceMs = 5,
  ) {}

  wake(task: Runnable): void {
    if (this.#stopped) return;
    this.#ready.add(task);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#ready.clear();
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    if (this.#stopped) return;
    this.slices++;
    const deadline = performance.now() + this.sliceMs;
    const ready = this.#ready;
    while (ready.size > 0) {
      // one pass over the tasks ready now; tasks woken during the pass run in the next one
      const pass = [...ready];
      ready.clear();
      for (const task of pass) {
        if (task.step()) ready.add(task);
        if (this.#stopped) return;
      }
      if (performance.now() >= deadline) break;
    }
    runLoop.busy = ready.size > 0;
    if (ready.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#run);
    }
  };
}
