// Makes the state backend a job's configuration names (`state.backend.type`).
import { ConfigError } from '../errors.ts';
import { MemoryStateBackend } from './memory-backend.ts';
import type { StateBackend } from './types.ts';

export function createStateBackend(type: string): StateBackend {
  switch (type) {
    case 'memory':
      return new MemoryStateBackend();
    case 'fs':
    case 'level':
      throw new ConfigError('FLOE_BACKEND_UNAVAILABLE', `the '${type}' state backend is not available in this version of floe`, {
        hint: 'use --state-backend memory',
      });
    default:
      throw new ConfigError('FLOE_CONFIG_BAD_VALUE', `unknown state backend '${type}'`, { hint: 'state.backend.type is one of memory, fs, level' });
  }
}
