// Makes the state backend a job names (`state.backend.type`), loading a preset's code only when a job uses it.
import { MemoryStateBackend } from './memory-backend.ts';
import type { StateBackendOptions } from './state-backend-registry.ts';
import type { StateBackend } from './types.ts';

/**
 * createStateBackend's answer, for a job's start: the memory preset (the default) is made at once, the
 * others through the registry, imported here, so a memory job's start-up never loads LevelDB's backend.
 */
export async function loadStateBackend(type: string, options: StateBackendOptions = {}): Promise<StateBackend> {
  if (type === 'memory') return new MemoryStateBackend();
  const { createStateBackend } = await import('./state-backend-registry.ts');
  return createStateBackend(type, options);
}
