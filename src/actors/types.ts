// The data protocol between tasks: what travels on a channel (the checkpoint model's types live in src/checkpoint).
import type { CheckpointOptions } from '../checkpoint/types.ts';

/**
 * A data batch (a network buffer): the records, and once a record with an event timestamp is in it,
 * every record's timestamp at the same index (NaN: none) — Flink's StreamRecord timestamps without
 * an object per record. The timestamps travel with the array wherever it goes (channel state too).
 */
export type RecordBatch = unknown[] & { timestamps?: number[] };

/** Messages that travel on a channel, producer subtask -> consumer subtask. */
export type ChannelMessage =
  | { type: 'data'; batch: RecordBatch }
  | { type: 'barrier'; checkpointId: number; timestamp: number; options: CheckpointOptions }
  | { type: 'cancel-barrier'; checkpointId: number }
  | { type: 'end-of-partition' }
  /** event time: the producer's watermark (every record after it has a later timestamp, or is late) */
  | { type: 'watermark'; timestamp: number }
  /** event time: the producer turned idle (holds no watermark back) or active again */
  | { type: 'watermark-status'; status: 'idle' | 'active' };
