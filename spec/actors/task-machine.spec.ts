// The task machine as pure transitions: it alone decides what a control message means in each phase.
import t from 'tap';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { TaskPhase } from '../../src/checkpoint/control-messages.ts';
import { phaseOf, taskMachine, type TaskEvent } from '../../src/actors/task-machine.ts';

type Snapshot = SnapshotFrom<typeof taskMachine>;
interface Action {
  type: string;
  params?: Record<string, unknown>;
}

function task(options: { isSource?: boolean; checkpointingEnabled?: boolean } = {}) {
  let [snapshot] = initialTransition(taskMachine, {
    taskName: 'count',
    vertexId: 'v1',
    subtaskIndex: 0,
    parallelism: 1,
    attempt: 2,
    isSource: options.isSource ?? false,
    checkpointingEnabled: options.checkpointingEnabled ?? true,
  });
  const send = (event: TaskEvent): string[] => {
    const [next, actions] = transition(taskMachine, snapshot as Snapshot, event);
    snapshot = next;
    return (actions as unknown as Action[]).filter((a) => !a.type.startsWith('xstate.')).map((a) => a.type);
  };
  const trigger = (checkpointId: number) =>
    send({ type: 'TRIGGER_CHECKPOINT', attempt: 2, checkpointId, timestamp: 0, options: { kind: 'checkpoint', alignment: 'aligned' } });
  const complete = (checkpointId: number) => send({ type: 'NOTIFY_CHECKPOINT_COMPLETE', attempt: 2, checkpointId });
  const run = () => {
    send({ type: 'DEPLOY_TASK', attempt: 2, restore: null });
    return send({ type: 'RESTORED' });
  };
  return {
    send,
    trigger,
    complete,
    run,
    get value() {
      return snapshot.value;
    },
    get phase(): TaskPhase {
      return phaseOf(snapshot.value);
    },
    get context() {
      return snapshot.context;
    },
  };
}

t.test('deploy, restore, run: the phase is the machine state; running reports itself and wakes the run loop', async (t) => {
  const s = task();
  t.equal(s.phase, 'created');
  t.same(s.send({ type: 'DEPLOY_TASK', attempt: 2, restore: { checkpointId: 7, operators: {} } }), ['deploy']);
  t.equal(s.phase, 'deploying');
  t.equal(s.context.restoredFrom, 7);
  t.same(s.send({ type: 'RESTORED' }), ['reportRunning', 'wake']);
  t.same(s.value, { running: 'processing' });
  t.equal(s.phase, 'running');
});

t.test('a trigger starts a checkpoint at a running source only; elsewhere the task declines', async (t) => {
  const source = task({ isSource: true });
  t.same(source.trigger(1), ['declineNotReady'], 'created: not ready');
  source.run();
  t.same(source.trigger(1), ['snapshotAtSource']);
  t.same(source.value, { running: 'snapshotting' });
  source.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 1 });
  t.same(source.value, { running: 'processing' });
  t.equal(source.context.lastSnapshotId, 1);
  const inner = task();
  inner.run();
  t.same(inner.trigger(1), ['declineNotReady'], 'the barrier reaches a running non-source task');
});

t.test('alignment: started, aligned, snapshot taken; aborted goes back to processing', async (t) => {
  const s = task();
  s.run();
  s.send({ type: 'ALIGNMENT_STARTED', checkpointId: 3 });
  t.same(s.value, { running: 'aligning' });
  t.equal(s.context.checkpointId, 3);
  s.send({ type: 'ALIGNMENT_ABORTED', checkpointId: 3, reason: 'subsumed' });
  t.same(s.value, { running: 'processing' });
  s.send({ type: 'ALIGNMENT_STARTED', checkpointId: 4 });
  s.send({ type: 'ALIGNED', checkpointId: 4 });
  t.same(s.value, { running: 'snapshotting' });
  s.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 4 });
  t.same(s.value, { running: 'processing' });
});

t.test('finishing: a trigger during the flush waits for it; the final checkpoint lets the task close, then it is finished', async (t) => {
  const s = task();
  s.run();
  s.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 4 });
  t.same(s.send({ type: 'INPUT_ENDED' }), ['endInput']);
  t.same(s.value, { finishing: 'flushing' });
  t.equal(s.phase, 'finishing');
  t.same(s.trigger(5), [], 'deferred while end of input is flushed');
  t.same(s.send({ type: 'INPUT_FLUSHED', dirty: true }), ['snapshotFinishing', 'reportFinishing'], 'then taken, then finishing reported');
  t.same(s.value, { finishing: 'waiting' });
  s.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 5 });
  t.equal(s.context.finalCheckpointId, 5, 'the snapshot after the input ended holds the final state');
  t.same(s.trigger(5), [], 'a trigger of a checkpoint it has snapshotted changes nothing');
  t.same(s.complete(4), ['notifyComplete'], 'an older checkpoint: sinks commit, the task waits');
  t.same(s.value, { finishing: 'waiting' });
  t.same(s.complete(5), ['notifyComplete', 'close']);
  t.same(s.value, { finishing: 'closing' });
  t.equal(s.phase, 'finishing', 'not finished while its operators close');
  t.same(s.complete(6), [], 'closing: nothing more to commit');
  t.same(s.trigger(6), [], 'closing: a trigger waits for the finished report (the coordinator acknowledges it with the final state)');
  t.same(s.send({ type: 'CLOSED' }), ['reportFinished']);
  t.equal(s.phase, 'finished');
});

t.test(
  'finishing without new data: the last snapshot is the final one; without checkpointing the task closes after the flush',
  async (t) => {
    const clean = task();
    clean.run();
    clean.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 9 });
    clean.send({ type: 'INPUT_ENDED' });
    clean.send({ type: 'INPUT_FLUSHED', dirty: false });
    t.equal(clean.context.finalCheckpointId, 9);
    t.same(clean.complete(9), ['notifyComplete', 'close']);
    // the final checkpoint's notification may come before end of input was flushed (its barrier came just ahead of
    // end of partition): the task closes once flushed instead of waiting for a checkpoint that may never be needed
    const early = task();
    early.run();
    early.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 3 });
    early.send({ type: 'INPUT_ENDED' });
    t.same(early.complete(3), ['notifyComplete'], 'completed while flushing: sinks commit');
    t.same(early.send({ type: 'INPUT_FLUSHED', dirty: false }), ['reportFinishing', 'close']);
    t.same(early.value, { finishing: 'closing' });
    const before = task();
    before.run();
    before.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 3 });
    before.complete(3);
    before.send({ type: 'INPUT_ENDED' });
    before.send({ type: 'INPUT_FLUSHED', dirty: false });
    t.same(before.value, { finishing: 'closing' }, 'completed while still running');
    const dirty = task();
    dirty.run();
    dirty.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 3 });
    dirty.send({ type: 'INPUT_ENDED' });
    dirty.complete(3);
    dirty.send({ type: 'INPUT_FLUSHED', dirty: true });
    t.same(dirty.value, { finishing: 'waiting' }, 'data processed after the snapshot: a later checkpoint must hold it');
    const plain = task({ checkpointingEnabled: false });
    plain.run();
    plain.send({ type: 'INPUT_ENDED' });
    t.same(
      plain.send({ type: 'INPUT_FLUSHED', dirty: true }),
      ['snapshotFinal', 'close'],
      'its final snapshot goes to the coordinator as its final state, then it closes',
    );
  },
);

t.test(
  'without checkpointing: a savepoint during the flush is taken before the task closes, its barrier ahead of end of partition',
  async (t) => {
    const source = task({ isSource: true, checkpointingEnabled: false });
    source.run();
    t.same(source.trigger(1), ['snapshotAtSource'], 'while it runs, as with checkpointing');
    source.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 1 });
    source.send({ type: 'INPUT_ENDED' });
    t.same(source.trigger(2), [], 'deferred while end of input is flushed');
    t.same(
      source.send({ type: 'INPUT_FLUSHED', dirty: true }),
      ['snapshotBeforeEndOfPartition', 'snapshotFinal', 'close'],
      'taken, then its final snapshot, then the task closes (no final checkpoint to wait for)',
    );
    t.same(source.value, { finishing: 'closing' });
    t.same(source.trigger(3), [], 'one that comes while it closes waits for the finished report (acknowledged with its final state)');
    const stale = task({ checkpointingEnabled: false });
    stale.run();
    stale.send({ type: 'SNAPSHOT_TAKEN', checkpointId: 4 });
    stale.send({ type: 'INPUT_ENDED' });
    stale.trigger(4);
    t.same(
      stale.send({ type: 'INPUT_FLUSHED', dirty: false }),
      ['snapshotFinal', 'close'],
      'a trigger it already snapshotted is not taken again',
    );
  },
);

t.test('failure and cancellation end the machine; the failure is reported with its error', async (t) => {
  const s = task();
  s.run();
  const error = { name: 'Error', message: 'boom' };
  t.same(s.send({ type: 'FAIL', error }), ['closeAfterFailure', 'reportFailed']);
  t.equal(s.phase, 'failed');
  t.equal(s.context.error, 'boom');
  const c = task();
  c.run();
  t.same(c.send({ type: 'CANCEL_TASK', attempt: 2 }), ['cancel']);
  t.equal(c.phase, 'canceled', 'canceling shows as canceled, as before');
  t.same(c.send({ type: 'FAIL', error }), [], 'a failure while canceling changes nothing');
  t.same(c.send({ type: 'CANCELED' }), ['reportCanceled']);
});
