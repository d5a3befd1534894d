// The checkpoint coordinator as pure transitions on a simulated clock: each event in, the next snapshot and the actions it decided out.
import t from 'tap';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { TaskStateSnapshot } from '../../src/checkpoint/state-handles.ts';
import type { CheckpointOptions, SubtaskId } from '../../src/checkpoint/types.ts';
import type { CheckpointConfig } from '../../src/config/checkpoint-config.ts';
import { checkpointCoordinatorMachine, type CoordinatorEvent } from '../../src/coordinator/checkpoint-coordinator.ts';

const machine = checkpointCoordinatorMachine;
type Snapshot = SnapshotFrom<typeof machine>;
interface Action {
  type: string;
  params?: Record<string, unknown> & { event?: { type: string } };
}

const CONFIG: CheckpointConfig = {
  enabled: true,
  intervalMs: 100,
  mode: 'exactly-once',
  timeoutMs: 1000,
  minPauseMs: 0,
  maxConcurrent: 1,
  tolerableFailures: 0,
  unaligned: false,
  alignedTimeoutMs: 0,
  historySize: 100,
};
const id = (key: string): SubtaskId => ({ vertexId: key.split('#')[0]!, subtaskIndex: Number(key.split('#')[1]) });

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}

/**
 * Drives the machine one pure transition at a time. Every context it starts from is deep-frozen:
 * a decision that wrote to it would throw.
 */
function coordinator(config: Partial<CheckpointConfig> = {}, subtasks = ['v0#0', 'v1#0'], sources = ['v0#0']) {
  const clock = { now: 0 };
  let [snapshot] = initialTransition(machine, { config: { ...CONFIG, ...config }, maxParallelism: 128, now: () => clock.now });
  const send = (event: CoordinatorEvent): Action[] => {
    deepFreeze(snapshot.context);
    const [next, actions] = transition(machine, snapshot as Snapshot, event);
    snapshot = next;
    return actions as unknown as Action[];
  };
  const at = (ms: number, event: CoordinatorEvent) => {
    clock.now = ms;
    return send(event);
  };
  const attempt = 0;
  send({ type: 'START', attempt, expected: subtasks, sources, parallelism: { v0: 1, v1: 1, v2: 1 } });
  for (const key of subtasks) send({ type: 'TASK_STATE_CHANGED', attempt, subtask: id(key), state: 'running' });
  const ack = (checkpointId: number, key: string, ackAttempt = attempt) =>
    send({
      type: 'ACKNOWLEDGE_CHECKPOINT',
      attempt: ackAttempt,
      checkpointId,
      subtask: id(key),
      state: { [`op-${key}`]: { keyed: null, operator: {} } },
      metrics: { alignmentDurationMs: 0, startDelayMs: 0, syncDurationMs: 0, asyncDurationMs: 0, stateSize: 1, bufferedDuringAlignment: 0 },
    });
  /** every subtask acknowledges and the persist step reports it durable */
  const complete = (checkpointId: number, externalPointer?: string) => {
    for (const key of subtasks) ack(checkpointId, key);
    return send({ type: 'PERSISTED', checkpointId, ...(externalPointer ? { externalPointer } : {}) });
  };
  return {
    send,
    at,
    ack,
    complete,
    clock,
    get snapshot() {
      return snapshot;
    },
    get context() {
      return snapshot.context;
    },
  };
}

const ofType = (actions: Action[], type: string) => actions.filter((a) => a.type === type);
const raised = (actions: Action[], event: string) =>
  ofType(actions, 'xstate.raise')
    .filter((a) => a.params!.event!.type === event)
    .map((a) => a.params!.delay);
const triggered = (actions: Action[]) => ofType(actions, 'triggerCheckpoint').map((a) => a.params!.checkpointId);
const aborted = (actions: Action[]) =>
  ofType(actions, 'notifyCheckpointAborted').map((a) => `${a.params!.checkpointId} ${(a.params!.cause as { code: string }).code}`);

t.test(
  'interval: START schedules the first tick; a tick triggers at the running sources and at tasks whose input ended, then schedules the next',
  async (t) => {
    const c = coordinator({}, ['v0#0', 'v1#0', 'v2#0']);
    t.equal(c.snapshot.value, 'running');
    c.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v2#0'), state: 'finishing' });
    const actions = c.at(100, { type: 'TICK' });
    t.same(
      ofType(actions, 'triggerCheckpoint').map((a) => a.params),
      [
        {
          attempt: 0,
          checkpointId: 1,
          timestamp: 100,
          options: { kind: 'checkpoint', alignment: 'aligned' },
          subtasks: ['v0#0', 'v2#0'],
        },
      ],
      'the source and the finishing task; the barrier reaches v1#0',
    );
    t.same(raised(actions, 'TIMEOUT'), [1000], 'its timeout');
    t.same(raised(actions, 'TICK'), [100], 'the next tick, one interval on');
    t.same(
      c.context.history.map((s) => [s.id, s.status]),
      [[1, 'in-progress']],
    );
    const disabled = coordinator({ enabled: false, intervalMs: 0 });
    t.same(
      raised(disabled.send({ type: 'START', attempt: 0, expected: [], sources: [], parallelism: {} }), 'TICK'),
      [],
      'no periodic tick without checkpointing',
    );
  },
);

t.test('min pause: a tick too soon after the last completion waits for the rest of the pause', async (t) => {
  const c = coordinator({ minPauseMs: 250 });
  c.at(100, { type: 'TICK' });
  c.clock.now = 150;
  c.complete(1);
  t.equal(c.context.lastCompletedAt, 150);
  const early = c.at(200, { type: 'TICK' });
  t.same(triggered(early), [], 'not at 200');
  t.same(raised(early, 'TICK'), [200], 'at 150 + 250 = 400');
  t.same(triggered(c.at(400, { type: 'TICK' })), [2]);
});

t.test('max concurrent: a tick at the limit is deferred until a checkpoint ends; requests queue', async (t) => {
  const c = coordinator({ maxConcurrent: 1, minPauseMs: 30 });
  c.at(100, { type: 'TICK' });
  const deferred = c.at(200, { type: 'TICK' });
  t.same(triggered(deferred), [], 'one pending: no second trigger');
  t.same(raised(deferred, 'TICK'), [], 'nor a tick of its own');
  t.ok(c.context.tickDeferred);
  const request = (requestId: number, options: CheckpointOptions = { kind: 'checkpoint', alignment: 'aligned' }) =>
    c.send({ type: 'TRIGGER', request: { options, requestId } });
  t.same(triggered(request(7)), [], 'a request waits too');
  t.same(c.context.queued, [{ options: { kind: 'checkpoint', alignment: 'aligned' }, requestId: 7 }]);
  c.clock.now = 250;
  const completed = c.complete(1);
  t.same(triggered(completed), [2], 'the queued request takes the free slot');
  t.same(raised(completed, 'TICK'), [], 'the deferred tick waits while the slot is taken again');
  const second = c.complete(2);
  t.same(
    ofType(second, 'xstate.emit').map((a) => a.params!.event!.type),
    ['checkpoint-completed', 'request-answered'],
  );
  t.same(raised(second, 'TICK'), [30], 'then the deferred tick, after min pause');
  const two = coordinator({ maxConcurrent: 2 });
  two.at(100, { type: 'TICK' });
  t.same(triggered(two.at(200, { type: 'TICK' })), [2], 'max concurrent 2: two pending checkpoints');
});

t.test(
  'timeout: the checkpoint expires (FLOE_CHECKPOINT_EXPIRED, counted); a completion subsumes older ones (FLOE_CHECKPOINT_SUBSUMED, not counted)',
  async (t) => {
    const c = coordinator({ maxConcurrent: 3, tolerableFailures: 5 });
    c.at(100, { type: 'TICK' });
    c.ack(1, 'v0#0');
    const expired = c.at(1100, { type: 'TIMEOUT', checkpointId: 1 });
    t.same(aborted(expired), ['1 FLOE_CHECKPOINT_EXPIRED']);
    t.match(ofType(expired, 'notifyCheckpointAborted')[0]!.params!.cause, { message: /expired after 1000 ms .*waiting for v1#0/ });
    t.same(
      ofType(expired, 'discardCheckpoint').map((a) => a.params),
      [{ checkpointId: 1 }],
      'what it wrote is discarded',
    );
    t.equal(c.context.consecutiveFailures, 1);
    t.match(c.context.history[0], { status: 'failed', failureCode: 'FLOE_CHECKPOINT_EXPIRED' });
    t.same(c.at(1200, { type: 'TIMEOUT', checkpointId: 1 }), [], 'a timeout of a checkpoint no longer pending does nothing');
    c.at(1300, { type: 'TICK' });
    c.at(1400, { type: 'TICK' });
    t.same(aborted(c.complete(3)), ['2 FLOE_CHECKPOINT_SUBSUMED'], 'checkpoint 2 is subsumed by 3');
    t.equal(c.context.consecutiveFailures, 0, 'subsumption is not a failure, and a completion resets the count');
    t.same(
      c.context.history.map((s) => s.failureCode ?? s.status),
      ['FLOE_CHECKPOINT_EXPIRED', 'FLOE_CHECKPOINT_SUBSUMED', 'completed'],
      'told apart by code',
    );
  },
);

t.test(
  'tolerable failures: one more consecutive counted failure than tolerated fails the job; declines caused elsewhere do not count',
  async (t) => {
    const c = coordinator({ tolerableFailures: 1 });
    c.at(100, { type: 'TICK' });
    t.same(ofType(c.at(1100, { type: 'TIMEOUT', checkpointId: 1 }), 'failJob'), [], 'one is tolerated');
    c.at(1200, { type: 'TICK' });
    const decline = (checkpointId: number, code: string) =>
      c.send({
        type: 'DECLINE_CHECKPOINT',
        attempt: 0,
        checkpointId,
        subtask: id('v1#0'),
        cause: { name: 'CheckpointError', code, message: code },
      });
    t.same(ofType(decline(2, 'FLOE_CHECKPOINT_CANCELED_UPSTREAM'), 'failJob'), [], 'an upstream cancel is not counted');
    t.equal(c.context.consecutiveFailures, 1);
    c.at(1300, { type: 'TICK' });
    const failing = decline(3, 'FLOE_CHECKPOINT_SNAPSHOT_FAILED');
    t.match(ofType(failing, 'failJob')[0]!.params, {
      error: { code: 'FLOE_TOO_MANY_CHECKPOINT_FAILURES', message: /^2 consecutive checkpoints failed \(tolerable: 1\)/ },
    });
  },
);

t.test('a decline keeps its cause; messages of an older attempt change nothing', async (t) => {
  const c = coordinator({ tolerableFailures: 5 });
  c.at(100, { type: 'TICK' });
  const stale = c.ack(1, 'v0#0', -1);
  t.same(stale, []);
  t.same(c.context.pending[1]!.notYetAcked, ['v0#0', 'v1#0'], 'a stale attempt cannot acknowledge into this one');
  const cause = { name: 'Error', code: 'ENOSPC', message: 'ENOSPC: no space left on device' };
  const actions = c.send({ type: 'DECLINE_CHECKPOINT', attempt: 0, checkpointId: 1, subtask: id('v1#0'), cause });
  t.same(ofType(actions, 'notifyCheckpointAborted')[0]!.params!.cause, {
    code: 'FLOE_CHECKPOINT_DECLINED',
    message: 'declined by v1#0: ENOSPC: no space left on device',
    cause,
  });
});

t.test(
  'a savepoint completes with its location (external pointer), answers its request with it, and is not the restart point',
  async (t) => {
    const c = coordinator();
    c.at(100, { type: 'TICK' });
    c.complete(1);
    const options: CheckpointOptions = { kind: 'savepoint', alignment: 'aligned', targetDirectory: '/sp' };
    c.at(150, { type: 'TRIGGER', request: { options, requestId: 4 } });
    for (const key of ['v0#0', 'v1#0']) c.ack(2, key);
    const persisting = c.context.pending[2]!.persisting!;
    t.same(persisting.savepoint, { targetDirectory: '/sp', drained: false }, 'the persist step learns where to write it');
    const done = c.send({ type: 'PERSISTED', checkpointId: 2, externalPointer: '/sp/savepoint-0a1b2c-000000000000' });
    const answer = ofType(done, 'xstate.emit').find((a) => a.params!.event!.type === 'request-answered')!.params!.event as unknown as {
      requestId: number;
      checkpoint: { externalPointer: string };
    };
    t.equal(answer.requestId, 4);
    t.equal(answer.checkpoint.externalPointer, '/sp/savepoint-0a1b2c-000000000000');
    t.equal(c.context.latest!.id, 1, 'the restart point stays checkpoint 1');
    const failed = coordinator();
    failed.at(100, { type: 'TRIGGER', request: { options, requestId: 5 } });
    for (const key of ['v0#0', 'v1#0']) failed.ack(1, key);
    const write = { name: 'SavepointError', code: 'FLOE_SAVEPOINT_WRITE_FAILED', message: 'savepoint 1 could not be written' };
    const refused = failed.send({ type: 'PERSIST_FAILED', checkpointId: 1, error: write });
    const error = (ofType(refused, 'xstate.emit')[1]!.params!.event as unknown as { error: unknown }).error;
    t.match(
      error,
      { code: 'FLOE_CHECKPOINT_ABORTED', cause: { code: 'FLOE_CHECKPOINT_PERSIST_FAILED', cause: write } },
      'the write failure is the cause of the cause',
    );
  },
);

t.test(
  'suspend aborts what is pending (FLOE_CHECKPOINT_JOB_SUSPENDED, uncounted) and drops queued requests; shutdown discards',
  async (t) => {
    const c = coordinator();
    c.at(100, { type: 'TICK' });
    c.send({ type: 'TRIGGER', request: { options: { kind: 'checkpoint', alignment: 'aligned' }, requestId: 9 } });
    const actions = c.send({ type: 'SUSPEND', reason: 'task failure' });
    t.equal(c.snapshot.value, 'stopped');
    t.same(aborted(actions), ['1 FLOE_CHECKPOINT_JOB_SUSPENDED']);
    t.match(ofType(actions, 'xstate.emit').at(-1)!.params!.event, {
      type: 'request-answered',
      requestId: 9,
      error: { code: 'FLOE_CHECKPOINT_ABORTED', message: /dropped: task failure/ },
    });
    t.equal(c.context.consecutiveFailures, 0);
    t.same(
      ofType(actions, 'xstate.cancel').map((a) => a.params!.sendId),
      ['tick', 'timeout-1'],
    );
    const refused = c.send({ type: 'TRIGGER', request: { options: { kind: 'checkpoint', alignment: 'aligned' }, requestId: 10 } });
    t.match(ofType(refused, 'xstate.emit')[0]!.params!.event, { requestId: 10, error: { code: 'FLOE_JOB_NOT_RUNNING' } });
    const d = coordinator();
    d.at(100, { type: 'TICK' });
    const shutdown = d.send({ type: 'SHUTDOWN' });
    t.same(aborted(shutdown), ['1 FLOE_CHECKPOINT_DISCARDED']);
    t.equal(d.context.counts.failed, 0, 'discarded, not failed');
    t.equal(d.snapshot.status, 'done');
  },
);

t.test(
  'input ended: pending checkpoints are triggered at the task directly; the last source to end starts the final checkpoint',
  async (t) => {
    const c = coordinator({ maxConcurrent: 2 }, ['v0#0', 'v0#1', 'v1#0'], ['v0#0', 'v0#1']);
    c.at(100, { type: 'TICK' });
    const direct = c.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v1#0'), state: 'finishing' });
    t.same(
      ofType(direct, 'triggerCheckpoint').map((a) => [a.params!.checkpointId, a.params!.subtasks]),
      [[1, ['v1#0']]],
      'its barrier can no longer reach it',
    );
    t.same(triggered(c.send({ type: 'END_OF_INPUT', attempt: 0, subtask: id('v0#0') })), [], 'one source still reads');
    t.same(
      triggered(c.at(150, { type: 'END_OF_INPUT', attempt: 0, subtask: id('v0#1') })),
      [2],
      'the last one: the final checkpoint now, not at the next interval',
    );
    const held = coordinator({}, ['v0#0'], ['v0#0']);
    held.send({ type: 'HOLD' });
    t.same(triggered(held.send({ type: 'END_OF_INPUT', attempt: 0, subtask: id('v0#0') })), [], 'held (stop with a savepoint): not yet');
    t.same(triggered(held.send({ type: 'RESUME' })), [1], 'released: the final checkpoint it still needs');
  },
);

t.test(
  'without periodic checkpointing: a savepoint is triggered at the running sources and completes; once a task finished without a final state, one is refused at once, and a pending one aborted (not left to the job end)',
  async (t) => {
    const options: CheckpointOptions = { kind: 'savepoint', alignment: 'aligned', targetDirectory: '/sp' };
    const emitted = (actions: Action[]) =>
      ofType(actions, 'xstate.emit').map(
        (a) =>
          a.params!.event as unknown as {
            type: string;
            requestId?: number;
            error?: { code: string; message: string; hint?: string; cause?: { code: string } };
          },
      );
    const off = { enabled: false, intervalMs: 0 };

    const running = coordinator(off);
    t.same(triggered(running.at(10, { type: 'TRIGGER', request: { options, requestId: 1 } })), [1], 'triggered while every task runs');
    const done = running.complete(1, '/sp/savepoint-000000-000000000001');
    t.match(
      emitted(done).find((e) => e.type === 'request-answered'),
      { requestId: 1, checkpoint: { externalPointer: '/sp/savepoint-000000-000000000001' } },
    );

    // the source ended and closed (no final checkpoint to wait for); the rest of the job still drains its input
    const ending = coordinator(off);
    ending.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#0'), state: 'finished' });
    const refused = ending.at(20, { type: 'TRIGGER', request: { options, requestId: 2 } });
    t.same(triggered(refused), [], "nothing triggered: no savepoint can hold the finished source's position");
    const answer = emitted(refused).find((e) => e.type === 'request-answered')!;
    t.equal(answer.requestId, 2, 'answered at once, not when the job ends');
    t.equal(answer.error?.code, 'FLOE_CHECKPOINT_TASK_FINISHED');
    t.match(answer.error?.message, /v0#0 already finished/);
    t.match(answer.error?.hint, /--checkpoint-interval/);

    // a savepoint pending when a task closes without having taken part
    const racing = coordinator(off);
    racing.at(30, { type: 'TRIGGER', request: { options, requestId: 3 } });
    const finished = racing.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#0'), state: 'finished' });
    t.same(aborted(finished), ['1 FLOE_CHECKPOINT_TASK_FINISHED'], 'aborted when the task finished, not acknowledged with an empty state');
    t.match(
      emitted(finished).find((e) => e.type === 'request-answered'),
      { requestId: 3, error: { code: 'FLOE_CHECKPOINT_ABORTED', cause: { code: 'FLOE_CHECKPOINT_TASK_FINISHED' } } },
    );
    t.equal(racing.context.counts.failed, 1);
    t.equal(racing.context.consecutiveFailures, 0, 'not counted against tolerable failures');

    // a task that acknowledged the savepoint before it finished keeps it whole
    const tookPart = coordinator(off);
    tookPart.at(40, { type: 'TRIGGER', request: { options, requestId: 4 } });
    tookPart.ack(1, 'v0#0');
    t.same(aborted(tookPart.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#0'), state: 'finished' })), []);
    tookPart.ack(1, 'v1#0');
    t.match(
      emitted(tookPart.send({ type: 'PERSISTED', checkpointId: 1 })).find((e) => e.type === 'request-answered'),
      { requestId: 4, checkpoint: { id: 1 } },
    );

    // with checkpointing, a finished task's final state is its final checkpoint's: savepoints go on
    const on = coordinator();
    on.at(100, { type: 'TICK' });
    on.complete(1);
    on.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#0'), state: 'finished' });
    t.same(
      emitted(on.at(150, { type: 'TRIGGER', request: { options, requestId: 5 } })).filter((e) => e.type === 'request-answered'),
      [],
    );
  },
);

t.test(
  'without checkpointing, a task that finished before START (a restored source given no split): a savepoint is refused at once',
  async (t) => {
    const options: CheckpointOptions = { kind: 'savepoint', alignment: 'aligned', targetDirectory: '/sp' };
    let [snapshot] = initialTransition(machine, {
      config: { ...CONFIG, enabled: false, intervalMs: 0 },
      maxParallelism: 128,
      now: () => 10,
    });
    const send = (event: CoordinatorEvent): Action[] => {
      const [next, actions] = transition(machine, snapshot as Snapshot, event);
      snapshot = next;
      return actions as unknown as Action[];
    };
    send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#1'), state: 'finished' });
    send({ type: 'START', attempt: 0, expected: ['v0#0', 'v0#1', 'v1#0'], sources: ['v0#0', 'v0#1'], parallelism: { v0: 2, v1: 1 } });
    for (const key of ['v0#0', 'v1#0']) send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id(key), state: 'running' });
    const refused = send({ type: 'TRIGGER', request: { options, requestId: 1 } });
    t.same(triggered(refused), [], 'nothing triggered: the finished subtask would never acknowledge');
    const answer = ofType(refused, 'xstate.emit')
      .map((a) => a.params!.event as unknown as { type: string; requestId?: number; error?: { code: string } })
      .find((e) => e.type === 'request-answered');
    t.match(answer, { requestId: 1, error: { code: 'FLOE_CHECKPOINT_TASK_FINISHED' } }, 'answered at once, not when the job ends');
  },
);

t.test(
  'without checkpointing, a task that sent its final state (FINAL_STATE) before it finished: savepoints go on, holding that state',
  async (t) => {
    const options: CheckpointOptions = { kind: 'savepoint', alignment: 'aligned', targetDirectory: '/sp' };
    const off = { enabled: false, intervalMs: 0 };
    const finalState: TaskStateSnapshot = {
      'op-v0#0': { keyed: null, operator: { splits: { mode: 'split', items: [] } }, finished: true },
    };
    const answered = (actions: Action[]) =>
      ofType(actions, 'xstate.emit')
        .map((a) => a.params!.event as unknown as { type: string; requestId?: number; checkpoint?: { operators: object } })
        .find((e) => e.type === 'request-answered');

    // finished, then a savepoint: the finished subtask acknowledges it with its final state at once
    const after = coordinator(off);
    after.send({ type: 'FINAL_STATE', attempt: 0, subtask: id('v0#0'), state: finalState });
    after.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#0'), state: 'finished' });
    const triggered1 = after.at(20, { type: 'TRIGGER', request: { options, requestId: 1 } });
    t.same(answered(triggered1), undefined, 'not refused');
    t.same(after.context.pending[1]!.notYetAcked, ['v1#0'], 'the finished subtask acknowledged with its final state');
    after.ack(1, 'v1#0');
    const done = answered(after.send({ type: 'PERSISTED', checkpointId: 1, externalPointer: '/sp/a' }));
    t.match(done, { requestId: 1, checkpoint: { operators: { 'op-v0#0': { subtasks: [finalState['op-v0#0']] } } } });

    // a savepoint pending when the subtask closes (its trigger ignored while closing): acknowledged as it finishes
    const racing = coordinator(off);
    racing.at(30, { type: 'TRIGGER', request: { options, requestId: 2 } });
    racing.ack(1, 'v1#0');
    racing.send({ type: 'FINAL_STATE', attempt: 0, subtask: id('v0#0'), state: finalState });
    const finished = racing.send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#0'), state: 'finished' });
    t.same(aborted(finished), [], 'not aborted');
    t.same(ofType(finished, 'persistCheckpoint').length, 1, 'fully acknowledged: made durable');

    // finished before START (a restored source subtask given no split): its final state came first too
    let [snapshot] = initialTransition(machine, { config: { ...CONFIG, ...off }, maxParallelism: 128, now: () => 10 });
    const send = (event: CoordinatorEvent): Action[] => {
      const [next, actions] = transition(machine, snapshot as Snapshot, event);
      snapshot = next;
      return actions as unknown as Action[];
    };
    send({ type: 'FINAL_STATE', attempt: 0, subtask: id('v0#1'), state: finalState });
    send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id('v0#1'), state: 'finished' });
    send({ type: 'START', attempt: 0, expected: ['v0#0', 'v0#1', 'v1#0'], sources: ['v0#0', 'v0#1'], parallelism: { v0: 2, v1: 1 } });
    for (const key of ['v0#0', 'v1#0']) send({ type: 'TASK_STATE_CHANGED', attempt: 0, subtask: id(key), state: 'running' });
    t.same(triggered(send({ type: 'TRIGGER', request: { options, requestId: 3 } })), [1], 'triggered at the running source');
    t.same(snapshot.context.pending[1]!.notYetAcked, ['v0#0', 'v1#0']);
    // a stale attempt's final state is ignored
    const stale = send({ type: 'FINAL_STATE', attempt: -1, subtask: id('v0#0'), state: finalState });
    t.same(stale, []);
    t.notOk('v0#0' in snapshot.context.lastAcked);
  },
);

t.test(
  'web.checkpoints.history: the statistics keep that many checkpoints, the newest; a completion updates its entry in place',
  async (t) => {
    const c = coordinator({ historySize: 3 });
    for (let n = 1; n <= 5; n++) {
      c.at(n * 100, { type: 'TICK' });
      c.complete(n);
    }
    t.same(
      c.context.history.map((s) => [s.id, s.status]),
      [
        [3, 'completed'],
        [4, 'completed'],
        [5, 'completed'],
      ],
    );
    t.equal(c.context.counts.completed, 5, 'the counts still count every checkpoint');
    const many = coordinator({ historySize: 1000 });
    for (let n = 1; n <= 1000; n++) {
      many.at(n * 100, { type: 'TICK' });
      many.complete(n);
    }
    t.equal(many.context.history.length, 1000, 'a thousand kept when asked');
    t.same([many.context.history[0]!.id, many.context.history.at(-1)!.id], [1, 1000]);
  },
);
