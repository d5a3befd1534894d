// Picks a job's checkpoint storage from its configuration: memory for the memory preset, files for fs and level.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigReader } from '../config/config-options.ts';
import { ConfigError } from '../errors.ts';
import { MemoryCheckpointStorage } from './memory-checkpoint-storage.ts';
import type { CheckpointStorage } from './types.ts';

/** Where task-local copies go when `taskmanager.state.local.root-dirs` is not set. */
export const DEFAULT_LOCAL_RECOVERY_DIR = join(tmpdir(), 'floe-local-recovery');

/**
 * `files`: the backend needs file storage (fs, level, or a backend object given with a checkpoint
 * directory set); otherwise snapshots stay in the coordinator's memory. File storage's code is loaded
 * only for a job that writes files: a memory job's start-up skips it.
 */
export async function createCheckpointStorage(conf: ConfigReader, jobId: string, files: boolean): Promise<CheckpointStorage> {
  const numRetained = conf.get('state.checkpoints.num-retained');
  if (!files) return new MemoryCheckpointStorage({ maxSnapshotSize: conf.get('state.backend.memory.max-snapshot-size'), numRetained });
  const dir = conf.get('state.checkpoints.dir');
  if (!dir) {
    throw new ConfigError(
      'FLOE_CHECKPOINT_DIR_MISSING',
      `the ${conf.get('state.backend.type')} state backend writes checkpoints to files, but no checkpoint directory is set`,
      {
        hint: 'pass --checkpoint-dir DIR (state.checkpoints.dir), or use --state-backend memory',
      },
    );
  }
  const { FileCheckpointStorage } = await import('./file-checkpoint-storage.ts');
  return new FileCheckpointStorage({
    dir,
    jobId,
    numRetained,
    memoryThreshold: conf.get('state.storage.fs.memory-threshold'),
    retention: conf.get('execution.checkpointing.externalized-checkpoint-retention'),
    localRecovery: conf.get('state.backend.local-recovery')
      ? { dir: conf.get('taskmanager.state.local.root-dirs') ?? DEFAULT_LOCAL_RECOVERY_DIR }
      : false,
  });
}
