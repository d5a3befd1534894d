// Makes the state backend a job's configuration names (`state.backend.type`).
import { ConfigError } from '../errors.ts';
import { FsStateBackend } from './fs-backend.ts';
import { LevelStateBackend } from './level-backend.ts';
import { MemoryStateBackend } from './memory-backend.ts';
import type { StateBackend } from './types.ts';

export interface StateBackendOptions {
  /** `state.backend.incremental`: fs and level take incremental checkpoints (memory ignores it) */
  incremental?: boolean;
  /** `state.backend.level.localdir`: parent of the level backend's working directories (default under the OS temp dir) */
  localDir?: string;
  /** full materialisation at least every this many checkpoints of an incremental chain (default 10) */
  materializationInterval?: number;
  /** level: bound of the decoded-value cache in estimated heap bytes (default 16 MiB, 0 = no cache beyond the write overlay) */
  cacheBytes?: number;
  /** changed keys an incremental backend tracks on the heap before the next checkpoint is full instead (default 250,000) */
  maxTrackedChanges?: number;
  /** level: characters of changed values an incremental changelog keeps, so that a delta reads nothing back (default 4 Mi) */
  changelogValueChars?: number;
}

export const STATE_BACKEND_TYPES = ['memory', 'fs', 'level'] as const;

export function createStateBackend(type: string, options: StateBackendOptions = {}): StateBackend {
  const { incremental, materializationInterval, maxTrackedChanges } = options;
  switch (type) {
    case 'memory':
      return new MemoryStateBackend();
    case 'fs':
      return new FsStateBackend({ incremental, materializationInterval, maxTrackedChanges });
    case 'level':
      return new LevelStateBackend({
        incremental,
        materializationInterval,
        maxTrackedChanges,
        localDir: options.localDir,
        cacheBytes: options.cacheBytes,
        changelogValueChars: options.changelogValueChars,
      });
    default:
      throw new ConfigError('FLOE_CONFIG_BAD_VALUE', `unknown state backend '${type}'`, {
        hint: 'state.backend.type is one of memory, fs, level',
      });
  }
}
