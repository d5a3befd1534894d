// Drives the production checkpointed input gate as a task's step does, with a recording checkpointer double and a simulated clock.
import type { Barrier, BarrierListener } from '../../src/actors/barrier-handler.ts';
import { Channel } from '../../src/actors/channel.ts';
import { CheckpointedInputGate, EVENT } from '../../src/actors/checkpointed-input-gate.ts';
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
  const log: string[] = [];
  const processed: unknown[] = [];
  /** in-flight data of each completed unaligned checkpoint, decoded: id -> channel -> records */
  const channelState = new Map<number, unknown[][]>();
  const forwarded: Barrier[] = [];
  const timers: Array<{ at: number; fire: () => void }> = [];
  let now = 0;
  /** the subtask checkpointer's part, recorded */
  const checkpointer: BarrierListener = {
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
  };
  const gate = new CheckpointedInputGate(
    Array.from({ length: channels }, (_, i) => new Channel(100, i)),
    mode,
    checkpointer,
    {
      clock: () => now,
      startTimer: (id, ms, fire) => {
        timers.push({ at: now + ms, fire });
        log.push(`timer ${id} ${ms}ms`);
      },
    },
  );
  // what the gate does to its channels, observed (the gate's own code does it)
  const { input } = gate;
  const block = input.block.bind(input);
  const unblockAll = input.unblockAll.bind(input);
  input.block = (c) => {
    log.push(`block ${c}`);
    block(c);
  };
  input.unblockAll = () => {
    log.push('unblock');
    unblockAll();
  };
  const feed = (channel: number, ...messages: ChannelMessage[]) => {
    for (const m of messages) gate.channels[channel]!.push(m);
  };
  /** what a task does before reading input: due timers fire, then overtaking barriers and timeouts are handled */
  const priorityPass = () => {
    for (const due of timers.filter((x) => x.at <= now)) {
      timers.splice(timers.indexOf(due), 1);
      due.fire();
    }
    if (gate.hasPriorityEvents) gate.processPriorityEvents();
  };
  /** reads one message like a task's step does (after a priority pass); false when nothing can be read */
  const step = (): boolean => {
    priorityPass();
    const next = gate.pollNext();
    if (next === null) return false;
    if (next !== EVENT) processed.push(...next.message.batch.map((r) => `${next.channel}:${r}`));
    return true;
  };
  /** drains the gate */
  const run = () => {
    while (step());
    priorityPass();
  };
  return {
    gate,
    handler: gate.barriers,
    log,
    processed,
    channelState,
    forwarded,
    feed,
    step,
    run,
    priorityPass,
    tick: (ms: number) => (now += ms),
  };
}
