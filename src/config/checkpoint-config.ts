// The checkpoint coordinator's settings, read from the execution.checkpointing.* keys.
import type { CheckpointingMode, Configuration } from './configuration.ts';

export interface CheckpointConfig {
  /** true when execution.checkpointing.interval is set and above 0 */
  enabled: boolean;
  /** time between triggers; 0 when checkpointing is disabled */
  intervalMs: number;
  mode: CheckpointingMode;
  timeoutMs: number;
  minPauseMs: number;
  maxConcurrent: number;
  /** consecutive failed checkpoints tolerated before the job fails */
  tolerableFailures: number;
}

export function checkpointConfigFrom(conf: Configuration): CheckpointConfig {
  const interval = conf.get('execution.checkpointing.interval') ?? 0;
  return {
    enabled: interval > 0,
    intervalMs: interval,
    mode: conf.get('execution.checkpointing.mode'),
    timeoutMs: conf.get('execution.checkpointing.timeout'),
    minPauseMs: conf.get('execution.checkpointing.min-pause'),
    maxConcurrent: conf.get('execution.checkpointing.max-concurrent-checkpoints'),
    tolerableFailures: conf.get('execution.checkpointing.tolerable-failed-checkpoints'),
  };
}
