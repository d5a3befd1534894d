// The `memory` preset (Flink's MemoryStateBackend): heap state, snapshots kept in the coordinator's memory.
import { CheckpointError } from '../errors.ts';
import { HeapKeyedBackend } from './heap-keyed-backend.ts';
import type { KeyedBackendOptions, KeyedStateBackend, StateBackend, StateBackendFeatures } from './types.ts';

export const DEFAULT_MAX_SNAPSHOT_SIZE = 5 * 1024 * 1024;

export class MemoryStateBackend implements StateBackend {
  readonly name = 'memory';
  readonly features: StateBackendFeatures = { incremental: false, offHeap: false };
  readonly maxSnapshotSize: number;

  constructor(options: { maxSnapshotSize?: number } = {}) {
    this.maxSnapshotSize = options.maxSnapshotSize ?? DEFAULT_MAX_SNAPSHOT_SIZE;
  }

  createKeyedBackend(options: KeyedBackendOptions): KeyedStateBackend {
    return new HeapKeyedBackend(options, async (bytes) => {
      if (bytes.length > this.maxSnapshotSize) {
        throw new CheckpointError(
          'FLOE_STATE_TOO_LARGE',
          `the keyed state of '${options.operatorUid}' (subtask ${options.subtaskIndex}) is ${bytes.length} bytes, over the memory backend's cap of ${this.maxSnapshotSize} bytes`,
          { hint: 'use the fs or level backend (--state-backend), or raise state.backend.memory.max-snapshot-size' },
        );
      }
      return { type: 'bytes', bytes, size: bytes.length };
    });
  }
}
