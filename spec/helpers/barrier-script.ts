// A recording task double for barrier-handler specs: a real input gate, a log of what the handler asks, a simulated clock.
import { BarrierHandler, type Barrier, type BarrierHandlerHost } from '../../src/actors/barrier-handler.ts';
import { Channel } from '../../src/actors/channel.ts';
import { InputGate } from '../../src/actors/input-gate.ts';
import type { InFlightData } from '../../src/actors/in-flight-data.ts';
import type { ChannelMessage } from '../../src/actors/types.ts';
import type { CheckpointOptions, CheckpointingMode } from '../../src/checkpoint/types.ts';

export const barrier = (id: number, options: Partial<CheckpointOptions> = {}): Barrier => ({
  type: 'barrier',
  checkpointId: id,
  timestamp: 0,
  options: { kind: 'checkpoint', alignment: 'aligned', ...options },
});
export const unalignedBarrier = (id: number): Barrier => barrier(id, { alignment: 'unaligned' });
export const data = (...batch: unknown[]): ChannelMessage => ({ type: 'data', batch });

export function barrierScript(channels: number, mode: CheckpointingMode) {
  const gate = new InputGate(Array.from({ length: channels }, (_, i) => new Channel(100, i)));
  const log: string[] = [];
  const processed: unknown[] = [];
  /** in-flight data of each completed unaligned checkpoint, decoded: id -> channel -> records */
  const channelState = new Map<number, unknown[][]>();
  const forwarded: Barrier[] = [];
  const timers: Array<{ id: number; at: number }> = [];
  let now = 0;
  let priority = false;
  const host: BarrierHandlerHost = {
    blockChannel: (c) => {
      gate.block(c);
      log.push(`block ${c}`);
    },
    unblockAll: () => {
      gate.unblockAll();
      log.push('unblock');
    },
    alignmentStarted: (b) => log.push(`start ${b.checkpointId}`),
    alignmentCompleted: (b, ms) => {
      forwarded.push(b);
      log.push(`snapshot ${b.checkpointId} after ${ms}ms (processed ${processed.length})`);
    },
    alignmentAborted: (id, reason) => log.push(`abort ${id} ${reason}`),
    snapshotUnaligned: (b, ms) => {
      forwarded.push(b);
      log.push(`unaligned snapshot ${b.checkpointId} after ${ms}ms (processed ${processed.length})`);
    },
    channelStateCompleted: (b, inFlight: InFlightData) => {
      const state = Array.from({ length: channels }, (_, c) => inFlight.batches(c).flat());
      channelState.set(b.checkpointId, state);
      log.push(`channel state ${b.checkpointId}: ${state.map((records, c) => `${c}=[${records.join(',')}]`).join(' ')}`);
    },
    takeBarrier: (c, id) => gate.channels[c]!.takeBarrier(id),
    startAlignmentTimer: (id, ms) => {
      timers.push({ id, at: now + ms });
      log.push(`timer ${id} ${ms}ms`);
    },
  };
  const handler = new BarrierHandler(channels, mode, host, () => now);
  for (const ch of gate.channels) ch.onPriorityBarrier = () => (priority = true);
  const feed = (channel: number, ...messages: ChannelMessage[]) => {
    for (const m of messages) gate.channels[channel]!.push(m);
  };
  /** what a task does before reading input: let overtaking barriers overtake, fire due timers */
  const priorityPass = () => {
    for (const due of timers.filter((x) => x.at <= now)) {
      timers.splice(timers.indexOf(due), 1);
      handler.alignmentTimedOut(due.id);
    }
    if (!priority) return;
    priority = false;
    gate.channels.forEach((ch, c) => {
      for (const b of ch.queuedBarriers()) handler.processPriorityBarrier(c, b);
    });
  };
  /** reads one message like a task does (after a priority pass); false when nothing can be read */
  const step = (): boolean => {
    priorityPass();
    const next = gate.pollNext();
    if (!next) return false;
    const { channel, message } = next;
    if (message.type === 'data') {
      if (handler.capturing) handler.processData(channel, message.batch);
      processed.push(...message.batch.map((r) => `${channel}:${r}`));
    } else if (message.type === 'barrier') handler.processBarrier(channel, message);
    else if (message.type === 'cancel-barrier') handler.processCancelBarrier(channel, message.checkpointId);
    else handler.processEndOfPartition(channel);
    return true;
  };
  /** drains the gate */
  const run = () => {
    while (step());
    priorityPass();
  };
  return { gate, handler, log, processed, channelState, forwarded, feed, step, run, priorityPass, tick: (ms: number) => (now += ms) };
}
