// The checkpointed input gate (Flink's CheckpointedInputGate): a task's input channels, read round-robin, with barriers dispatched per channel to the barrier handler.
import type { CheckpointingMode } from '../checkpoint/types.ts';
import { BarrierHandler, type BarrierListener } from './barrier-handler.ts';
import type { Channel } from './channel.ts';
import { InputGate } from './input-gate.ts';
import { StatusWatermarkValve, type ValveOutput } from './status-watermark-valve.ts';
import type { RecordBatch } from './types.ts';

/** A data batch and the input channel it came from. */
export interface DataFromChannel {
  channel: number;
  message: { type: 'data'; batch: RecordBatch };
}

/** What pollNext() returns when it read an event (barrier, cancel barrier, end of partition) and handled it itself. */
export const EVENT: unique symbol = Symbol('event');

export interface CheckpointedInputGateOptions {
  /** the clock alignment durations are measured on */
  clock?: () => number;
  /** starts the aligned-checkpoint timeout's timer of `checkpointId`: `fire` after `ms` (specs run it on their own clock) */
  startTimer?: (checkpointId: number, ms: number, fire: () => void) => void;
  /** called when the task has input to read: a message arrived, a priority barrier, the aligned timeout */
  wake?: () => void;
  /** where the watermark valve lets out the task's watermarks and status (nowhere when omitted) */
  watermarks?: ValveOutput;
}

function startTimer(_checkpointId: number, ms: number, fire: () => void): void {
  setTimeout(fire, ms).unref();
}

/**
 * Reads one message at a time. Data goes to the task (and, while an unaligned checkpoint captures
 * in-flight data, into it); barriers, cancel barriers and ends of partition go to the barrier
 * handler, whose verdicts (alignment started, snapshot now, aborted, channel state complete) go to
 * the subtask checkpointer. Blocking a channel, letting a barrier overtake and the aligned
 * timeout's timer are the gate's own.
 */
export class CheckpointedInputGate {
  readonly input: InputGate;
  readonly barriers: BarrierHandler;
  /** event time: the minimum watermark over active channels; a blocked channel holds its watermarks with its data */
  readonly valve: StatusWatermarkValve;
  /** a barrier that may overtake was queued in one of the channels */
  #priorityBarrier = false;
  /** the aligned-checkpoint timeout fired for this checkpoint id */
  #timedOut: number | null = null;

  constructor(
    readonly channels: Channel[],
    mode: CheckpointingMode,
    listener: BarrierListener,
    options: CheckpointedInputGateOptions = {},
  ) {
    this.input = new InputGate(channels);
    this.valve = new StatusWatermarkValve(channels.length, options.watermarks ?? { watermark() {}, status() {} });
    const wake = options.wake ?? (() => {});
    const timer = options.startTimer ?? startTimer;
    this.barriers = new BarrierHandler(
      channels.length,
      mode,
      {
        blockChannel: (c) => this.input.block(c),
        unblockAll: () => this.input.unblockAll(),
        takeBarrier: (c, checkpointId) => channels[c]!.takeBarrier(checkpointId),
        startAlignmentTimer: (checkpointId, ms) =>
          timer(checkpointId, ms, () => {
            if (this.barriers.pendingCheckpointId !== checkpointId) return;
            this.#timedOut = checkpointId;
            wake();
          }),
      },
      listener,
      options.clock,
    );
    for (const ch of channels) {
      ch.onMessage = wake;
      ch.onPriorityBarrier = () => (this.#priorityBarrier = true);
    }
  }

  /** an overtaking barrier or a fired aligned timeout waits to be handled */
  get hasPriorityEvents(): boolean {
    return this.#priorityBarrier || this.#timedOut !== null;
  }

  /**
   * Handles overtaking barriers and a fired aligned-checkpoint timeout, before anything is read:
   * they do not wait for credit, which is what makes them fast under backpressure.
   */
  processPriorityEvents(): void {
    this.#priorityBarrier = false;
    const timedOut = this.#timedOut;
    this.#timedOut = null;
    if (timedOut !== null) this.barriers.alignmentTimedOut(timedOut);
    const channels = this.channels;
    for (let c = 0; c < channels.length; c++) {
      for (const barrier of channels[c]!.queuedBarriers()) this.barriers.processPriorityBarrier(c, barrier);
    }
  }

  /**
   * Reads the next message of an unblocked channel: a data batch is returned to the task, with its
   * channel; an event is handled here and EVENT returned; null when nothing can be read now.
   */
  pollNext(): DataFromChannel | typeof EVENT | null {
    const next = this.input.pollNext();
    if (!next) return null;
    const { channel, message } = next;
    switch (message.type) {
      case 'data':
        if (this.barriers.capturing) this.barriers.processData(channel, message.batch);
        return next as DataFromChannel;
      case 'barrier':
        this.barriers.processBarrier(channel, message);
        return EVENT;
      case 'cancel-barrier':
        this.barriers.processCancelBarrier(channel, message.checkpointId);
        return EVENT;
      case 'end-of-partition':
        this.valve.channelEnded(channel);
        this.barriers.processEndOfPartition(channel);
        return EVENT;
      case 'watermark':
        this.valve.inputWatermark(channel, message.timestamp);
        return EVENT;
      case 'watermark-status':
        this.valve.inputStatus(channel, message.status);
        return EVENT;
    }
  }

  /** every input partition has ended */
  get ended(): boolean {
    return this.barriers.allEnded;
  }

  /** Whether a message can be read now (some unblocked channel has one). */
  hasInput(): boolean {
    return this.input.hasInput();
  }

  isBlocked(channel: number): boolean {
    return this.input.isBlocked(channel);
  }

  /** Records left queued in blocked channels (alignment metrics). */
  bufferedInBlocked(): number {
    return this.input.bufferedInBlocked();
  }

  /** Data batches queued in blocked channels (alignment metrics). */
  blockedBatches(): IterableIterator<unknown[]> {
    return this.input.blockedBatches();
  }
}
