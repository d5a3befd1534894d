// The data protocol between tasks: what travels on a channel (the checkpoint model's types live in src/checkpoint).
import type { CheckpointOptions } from '../checkpoint/types.ts';

/** Messages that travel on a channel, producer subtask -> consumer subtask. */
export type ChannelMessage =
  | { type: 'data'; batch: unknown[] }
  | { type: 'barrier'; checkpointId: number; timestamp: number; options: CheckpointOptions }
  | { type: 'cancel-barrier'; checkpointId: number }
  | { type: 'end-of-partition' };
