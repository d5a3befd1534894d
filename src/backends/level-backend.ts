// The `level` preset (Flink's RocksDBStateBackend): working state in LevelDB on local disk, snapshots to files, optionally incremental.
import { LevelKeyedBackend, type LevelBackendOptions } from './level-keyed-backend.ts';
import type { KeyedBackendOptions, KeyedStateBackend, StateBackend, StateBackendFeatures } from './types.ts';

export class LevelStateBackend implements StateBackend {
  readonly name = 'level';
  readonly features: StateBackendFeatures = { incremental: true, offHeap: true };

  constructor(readonly options: LevelBackendOptions = {}) {}

  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend {
    return new LevelKeyedBackend(options, this.options);
  }
}
