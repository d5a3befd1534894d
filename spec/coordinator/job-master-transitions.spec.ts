// The job master's machine as pure transitions on a simulated clock: restart decisions, attempts, status.
import t from 'tap';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import type { SerializedError } from '../../src/checkpoint/serialized-error.ts';
import type { TaskPhase } from '../../src/checkpoint/control-messages.ts';
import { Configuration } from '../../src/config/configuration.ts';
import { jobMasterMachine, type JobMasterEvent } from '../../src/coordinator/job-master-machine.ts';
import { restartStrategyFrom } from '../../src/coordinator/restart-strategy.ts';

const machine = jobMasterMachine;
type Snapshot = SnapshotFrom<typeof machine>;
interface Action {
  type: string;
  params?: Record<string, unknown> & { event?: { type: string }; delay?: number };
}
const SUBTASKS = ['v0#0', 'v1#0'];
const subtask = (key: string) => ({ vertexId: key.split('#')[0]!, subtaskIndex: Number(key.split('#')[1]) });
const boom: SerializedError = { name: 'Error', message: 'boom' };

function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
  return value;
}

/** A job master driven by pure transitions; `strategy` takes restart-strategy.* keys. */
function jobMaster(strategy: Record<string, unknown>, random?: () => number) {
  const clock = { now: 0 };
  const restartStrategy = restartStrategyFrom(new Configuration(strategy), random);
  let [snapshot] = initialTransition(machine, { restartStrategy, now: () => clock.now });
  const send = (event: JobMasterEvent): Action[] => {
    // the strategy is a reference to its (immutable) configuration: everything else must stay as it was
    const { restartStrategy: _, now: __, ...data } = snapshot.context;
    deepFreeze(data);
    const [next, actions] = transition(machine, snapshot as Snapshot, event);
    snapshot = next;
    return actions as unknown as Action[];
  };
  /** the current attempt deployed and every task running */
  const run = () => {
    const { attempt } = snapshot.context;
    send({
      type: 'ATTEMPT_DEPLOYED',
      plan: { attempt, subtasks: SUBTASKS, sources: ['v0#0'], parallelism: { v0: 1, v1: 1 }, restoredFrom: null },
    });
    return SUBTASKS.flatMap((key) => taskState(key, 'running'));
  };
  const taskState = (key: string, state: TaskPhase, attempt = snapshot.context.attempt) =>
    send({ type: 'TASK_STATE_CHANGED', attempt, subtask: subtask(key), state });
  const fail = (at: number, error: SerializedError = boom, attempt = snapshot.context.attempt) => {
    clock.now = at;
    return send({ type: 'TASK_FAILED', attempt, subtask: subtask('v1#0'), error });
  };
  /** the stopped attempt, then the restart delay's delayed event: the next attempt deploys */
  const restart = () => {
    const waiting = send({ type: 'ATTEMPT_STOPPED' });
    const after = waiting.find((a) => a.type === 'xstate.raise')!;
    send(after.params!.event as JobMasterEvent);
    return after.params!.delay;
  };
  return {
    send,
    run,
    taskState,
    fail,
    restart,
    get snapshot() {
      return snapshot;
    },
  };
}

const named = (actions: Action[], type: string) => actions.filter((a) => a.type === type).map((a) => a.params);
const emitted = (actions: Action[]) => actions.filter((a) => a.type === 'xstate.emit').map((a) => a.params!.event!);

t.test('START deploys attempt 0; every task running starts checkpointing; every task finished ends the job FINISHED', async (t) => {
  const jm = jobMaster({ 'restart-strategy.type': 'none' });
  const started = jm.send({ type: 'START' });
  t.equal(jm.snapshot.value, 'RUNNING');
  t.same(named(started, 'deployAttempt'), [{ attempt: 0 }]);
  const running = jm.run();
  t.equal(running.filter((a) => a.type === 'startCheckpointing').length, 1, 'once, when the last task runs');
  t.match(emitted(running), [{ type: 'running', attempt: 0, restoredFrom: null }]);
  t.same(emitted(jm.taskState('v1#0', 'finishing')), [{ type: 'end-of-input', subtask: subtask('v1#0') }]);
  jm.taskState('v0#0', 'finished');
  t.equal(jm.snapshot.value, 'RUNNING');
  const done = jm.taskState('v1#0', 'finished');
  t.equal(jm.snapshot.value, 'FINISHED');
  t.same(named(done, 'endJob'), [{ status: 'FINISHED' }]);
});

t.test('fixed-delay: a task failure restarts after the delay, the given number of times; asking can() uses nothing up', async (t) => {
  const jm = jobMaster({
    'restart-strategy.type': 'fixed-delay',
    'restart-strategy.fixed-delay.attempts': 2,
    'restart-strategy.fixed-delay.delay': '3 s',
  });
  jm.send({ type: 'START' });
  jm.run();
  const failure = { type: 'TASK_FAILED', attempt: 0, subtask: subtask('v1#0'), error: boom } as const;
  for (let i = 0; i < 5; i++) t.ok(jm.snapshot.can(failure), 'can() evaluates the guards');
  t.same(jm.snapshot.context.restartState, { failures: 0 }, 'and the strategy counted nothing');
  const first = jm.fail(10);
  t.same(jm.snapshot.value, { RESTARTING: 'stopping' });
  t.same(named(first, 'stopAttempt'), [{ reason: 'restarting after a task failure' }]);
  t.match(emitted(first), [
    { type: 'task-failed', attempt: 0, error: boom },
    { type: 'restarting', delayMs: 3000, attempt: 1 },
  ]);
  t.equal(jm.restart(), 3000, 'the decided delay, as a delayed event');
  t.equal(jm.snapshot.value, 'RUNNING');
  t.equal(jm.snapshot.context.attempt, 1);
  jm.run();
  jm.fail(20);
  t.equal(jm.restart(), 3000);
  jm.run();
  const last = jm.fail(30);
  t.equal(jm.snapshot.value, 'FAILING', 'the third failure: no attempts left');
  t.same(named(last, 'stopAttempt'), [{ reason: 'job failing' }]);
  t.equal(jm.snapshot.context.restarts, 2);
  jm.send({ type: 'ATTEMPT_STOPPED' });
  t.equal(jm.snapshot.value, 'FAILED');
  t.same(jm.snapshot.context.failure, boom, 'the cause the job fails with');
});

t.test('failure-rate decides from the failure times (the simulated clock)', async (t) => {
  const jm = jobMaster({
    'restart-strategy.type': 'failure-rate',
    'restart-strategy.failure-rate.max-failures-per-interval': 2,
    'restart-strategy.failure-rate.failure-rate-interval': '1 min',
    'restart-strategy.failure-rate.delay': '5 s',
  });
  jm.send({ type: 'START' });
  for (const at of [0, 40_000]) {
    jm.run();
    jm.fail(at);
    t.equal(jm.restart(), 5000);
  }
  jm.run();
  jm.fail(70_000);
  t.same(jm.snapshot.value, { RESTARTING: 'stopping' }, 'the first failure left the window: 40 s and 70 s are two within a minute');
  t.equal(jm.restart(), 5000);
  jm.run();
  jm.fail(90_000);
  t.equal(jm.snapshot.value, 'FAILING', '40 s, 70 s, 90 s: three within a minute');
});

t.test('exponential-delay grows the delay per restart and merges a failure during the wait', async (t) => {
  const jm = jobMaster({
    'restart-strategy.type': 'exponential-delay',
    'restart-strategy.exponential-delay.backoff-multiplier': 2,
    'restart-strategy.exponential-delay.jitter-factor': 0,
  });
  jm.send({ type: 'START' });
  const delays: number[] = [];
  let now = 0;
  for (let i = 0; i < 3; i++) {
    jm.run();
    jm.fail(now);
    const delay = jm.restart()!;
    delays.push(delay);
    now += delay + 10;
  }
  t.same(delays, [1000, 2000, 4000]);
  t.same(jm.snapshot.context.restartState, { attempt: 3, nextRestartAt: 3020 + 4000 }, 'what the strategy remembers, in the context');
  t.equal(jm.snapshot.context.restarts, 3);
});

t.test('a failure restarting cannot fix fails the job at once; the strategy is not consulted', async (t) => {
  const jm = jobMaster({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 5 });
  jm.send({ type: 'START' });
  jm.run();
  jm.fail(0, { name: 'StateValueError', code: 'FLOE_STATE_VALUE_NOT_SERIALIZABLE', message: 'a function in state', unrecoverable: true });
  t.equal(jm.snapshot.value, 'FAILING');
  t.same(jm.snapshot.context.restartState, { failures: 0 });
  t.equal(jm.snapshot.context.restarts, 0);
});

t.test('messages of an older attempt are ignored; failures while stopping are too', async (t) => {
  const jm = jobMaster({ 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 5 });
  jm.send({ type: 'START' });
  jm.run();
  jm.fail(0);
  jm.restart();
  t.same(jm.fail(1, boom, 0), [], 'attempt 0 is gone: its late failure changes nothing');
  t.same(jm.taskState('v0#0', 'finished', 0), []);
  t.equal(jm.snapshot.value, 'RUNNING');
  jm.send({ type: 'CANCEL' });
  t.equal(jm.snapshot.value, 'CANCELLING');
  t.same(jm.fail(2), [], 'a task failing while the job is canceled');
  jm.send({ type: 'ATTEMPT_STOPPED' });
  t.equal(jm.snapshot.value, 'CANCELED');
  t.same(jm.snapshot.context.restartState, { failures: 1 });
});

t.test('FAIL_JOB (too many checkpoint failures) fails the job without a restart; STOP ends it FINISHED', async (t) => {
  const jm = jobMaster({ 'restart-strategy.type': 'fixed-delay' });
  jm.send({ type: 'START' });
  jm.run();
  const error: SerializedError = {
    name: 'JobExecutionError',
    code: 'FLOE_TOO_MANY_CHECKPOINT_FAILURES',
    message: '2 consecutive checkpoints failed',
  };
  jm.send({ type: 'FAIL_JOB', error });
  t.equal(jm.snapshot.value, 'FAILING');
  t.same(jm.snapshot.context.failure, error);
  const stopped = jobMaster({ 'restart-strategy.type': 'none' });
  stopped.send({ type: 'START' });
  t.same(named(stopped.send({ type: 'STOP' }), 'stopAttempt'), [{ reason: 'job stopped with a savepoint' }]);
  stopped.send({ type: 'ATTEMPT_STOPPED' });
  t.equal(stopped.snapshot.value, 'FINISHED');
});
