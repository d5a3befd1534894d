// The `memory` preset (Flink's MemoryStateBackend): heap state; snapshots go to the job's checkpoint storage (by default the coordinator's memory, capped).
import { HeapKeyedBackend } from './heap-keyed-backend.ts';
import type { KeyedBackendOptions, KeyedStateBackend, StateBackend, StateBackendFeatures } from './types.ts';

export class MemoryStateBackend implements StateBackend {
  readonly name = 'memory';
  readonly features: StateBackendFeatures = { incremental: false, offHeap: false };

  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend {
    return new HeapKeyedBackend(options);
  }
}
