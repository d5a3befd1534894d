// The `fs` preset (Flink's FsStateBackend): heap working state; snapshots go to files (the job's file checkpoint storage), optionally incremental.
import { HeapKeyedBackend } from './heap-keyed-backend.ts';
import type { IncrementalOptions } from './incremental-snapshots.ts';
import type { KeyedBackendOptions, KeyedStateBackend, StateBackend, StateBackendFeatures } from './types.ts';

export class FsStateBackend implements StateBackend {
  readonly name = 'fs';
  readonly features: StateBackendFeatures = { incremental: true, offHeap: false };

  constructor(readonly options: IncrementalOptions = {}) {}

  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend {
    return new HeapKeyedBackend(options, this.options);
  }
}
