// Makes the state backend a job's configuration names (`state.backend.type`).
import { ConfigError } from '../errors.ts';
import { MemoryStateBackend } from './memory-backend.ts';
import type { StateBackend } from './types.ts';

/** What a backend preset may take from the configuration. */
export interface StateBackendOptions {
  /** `state.backend.incremental` */
  incremental?: boolean;
  /** `state.backend.level.localdir`: where working databases live */
  localDir?: string;
  /** full materialisation every this many ms (incremental changelogs) */
  materializationInterval?: number;
}

export function createStateBackend(type: string, _options: StateBackendOptions = {}): StateBackend {
  switch (type) {
    case 'memory':
      return new MemoryStateBackend();
    case 'fs':
      // heap working state; the job's FileCheckpointStorage puts its snapshots in files (i3a's fs backend replaces this)
      return new MemoryStateBackend();
    case 'level':
      throw new ConfigError('FLOE_BACKEND_UNAVAILABLE', `the '${type}' state backend is not available in this version of floe`, {
        hint: 'use --state-backend memory',
      });
    default:
      throw new ConfigError('FLOE_CONFIG_BAD_VALUE', `unknown state backend '${type}'`, { hint: 'state.backend.type is one of memory, fs, level' });
  }
}
