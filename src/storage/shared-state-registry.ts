// Reference counts of shared snapshot files over the retained checkpoints (Flink's SharedStateRegistry).

/** Counts, per shared file, how many retained checkpoints reference it; a file is deletable only at zero. */
export class SharedStateRegistry {
  readonly #counts = new Map<string, number>();
  readonly #byCheckpoint = new Map<number, string[]>();

  /** Registers the shared files `checkpointId` references (each counted once per checkpoint). */
  register(checkpointId: number, paths: Iterable<string>): void {
    if (this.#byCheckpoint.has(checkpointId)) return;
    const unique = [...new Set(paths)];
    this.#byCheckpoint.set(checkpointId, unique);
    for (const p of unique) this.#counts.set(p, (this.#counts.get(p) ?? 0) + 1);
  }

  /** Drops `checkpointId`'s references; returns the files no retained checkpoint references any more. */
  unregister(checkpointId: number): string[] {
    const paths = this.#byCheckpoint.get(checkpointId);
    if (!paths) return [];
    this.#byCheckpoint.delete(checkpointId);
    const free: string[] = [];
    for (const p of paths) {
      const n = (this.#counts.get(p) ?? 1) - 1;
      if (n > 0) this.#counts.set(p, n);
      else {
        this.#counts.delete(p);
        free.push(p);
      }
    }
    return free;
  }

  referenceCount(path: string): number {
    return this.#counts.get(path) ?? 0;
  }

  /** every shared file some retained checkpoint references */
  get referenced(): ReadonlySet<string> {
    return new Set(this.#counts.keys());
  }
}
