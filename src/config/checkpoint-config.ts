// The checkpoint coordinator's settings, read from the execution.checkpointing.* keys.
import { ConfigError } from '../errors.ts';
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
  /** checkpoints (not savepoints) start unaligned */
  unaligned: boolean;
  /** aligned checkpoints switch to unaligned at a task aligning longer than this; 0 = never */
  alignedTimeoutMs: number;
  /** checkpoints kept in the statistics history (web.checkpoints.history), the oldest dropped first */
  historySize: number;
}

export function checkpointConfigFrom(conf: Configuration): CheckpointConfig {
  const interval = conf.get('execution.checkpointing.interval') ?? 0;
  const mode = conf.get('execution.checkpointing.mode');
  const unaligned = conf.get('execution.checkpointing.unaligned');
  const alignedTimeoutMs = conf.get('execution.checkpointing.aligned-checkpoint-timeout');
  if ((unaligned || alignedTimeoutMs > 0) && mode !== 'exactly-once') {
    // as Flink: only aligned barriers can be merely counted; overtaking needs exactly-once
    throw new ConfigError(
      'FLOE_UNALIGNED_NEEDS_EXACTLY_ONCE',
      'unaligned checkpoints and the aligned-checkpoint timeout need execution.checkpointing.mode exactly-once',
      {
        hint: 'set execution.checkpointing.mode=exactly-once, or drop execution.checkpointing.unaligned / aligned-checkpoint-timeout',
      },
    );
  }
  return {
    enabled: interval > 0,
    intervalMs: interval,
    mode,
    timeoutMs: conf.get('execution.checkpointing.timeout'),
    minPauseMs: conf.get('execution.checkpointing.min-pause'),
    maxConcurrent: conf.get('execution.checkpointing.max-concurrent-checkpoints'),
    tolerableFailures: conf.get('execution.checkpointing.tolerable-failed-checkpoints'),
    unaligned,
    alignedTimeoutMs,
    historySize: conf.get('web.checkpoints.history'),
  };
}
