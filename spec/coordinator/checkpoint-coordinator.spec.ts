// The checkpoint coordinator as an actor on a simulated clock: triggering, acks, timeouts, failures.
import t from 'tap';
import { createActor, SimulatedClock } from 'xstate';
import type { CompletedCheckpoint } from '../../src/checkpoint/completed-checkpoint.ts';
import type { AcknowledgeCheckpoint } from '../../src/checkpoint/control-messages.ts';
import { deserializeError, serializeError, type SerializedError } from '../../src/checkpoint/serialized-error.ts';
import type { CheckpointOptions } from '../../src/checkpoint/types.ts';
import type { CheckpointConfig } from '../../src/config/checkpoint-config.ts';
import { checkpointCoordinatorMachine } from '../../src/coordinator/checkpoint-coordinator.ts';

const SUBTASKS = ['v0#0', 'v1#0'];
/** the names people read in messages, as the job master hands them over */
const NAMES = { 'v0#0': 'Sequence Source -> Map (1/1)', 'v1#0': 'Reduce -> FileSink (1/1)' };
const ATTEMPT = 0;
const START = {
  type: 'START',
  attempt: ATTEMPT,
  expected: SUBTASKS,
  sources: ['v0#0'],
  parallelism: { v0: 1, v1: 1 },
  names: NAMES,
} as const;

type Persist = (checkpoint: CompletedCheckpoint) => Promise<void>;

function setup(config: Partial<CheckpointConfig> = {}, persist?: Persist) {
  const clock = new SimulatedClock();
  const log: string[] = [];
  const failures: SerializedError[] = [];
  const machine = checkpointCoordinatorMachine.provide({
    actions: {
      triggerCheckpoint: (_, { checkpointId, timestamp }) => void log.push(`trigger ${checkpointId} @${timestamp}`),
      notifyCheckpointComplete: (_, { checkpoint }) => void log.push(`complete ${checkpoint.id} @${checkpoint.completedAt}`),
      notifyCheckpointAborted: (_, { checkpointId, cause }) => void log.push(`abort ${checkpointId}: ${cause.message.split(':')[0]}`),
      failJob: (_, { error }) => void failures.push(error),
      ...(persist
        ? {
            persistCheckpoint: ({ self }, { checkpoint }) =>
              void persist(checkpoint).then(
                () => self.send({ type: 'PERSISTED', checkpointId: checkpoint.id }),
                (error: Error) => self.send({ type: 'PERSIST_FAILED', checkpointId: checkpoint.id, error: serializeError(error) }),
              ),
          }
        : {}),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: {
      config: {
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
        ...config,
      },
      maxParallelism: 128,
      now: () => clock.now(),
    },
  });
  actor.start();
  actor.send(START);
  const ack = (id: number, key: string) => {
    const [vertexId, i] = key.split('#');
    const message: AcknowledgeCheckpoint = {
      type: 'ACKNOWLEDGE_CHECKPOINT',
      attempt: ATTEMPT,
      checkpointId: id,
      subtask: { vertexId: vertexId!, subtaskIndex: Number(i) },
      state: { [`op-${vertexId}`]: { keyed: null, operator: { pos: { mode: 'split', items: [id] } } } },
      metrics: {
        alignmentDurationMs: 2,
        startDelayMs: 1,
        syncDurationMs: 0,
        asyncDurationMs: 1,
        stateSize: 10,
        bufferedDuringAlignment: 0,
      },
    };
    actor.send(message);
  };
  const ackAll = (id: number) => SUBTASKS.forEach((k) => ack(id, k));
  const tracker = () => actor.getSnapshot().context;
  let requests = 0;
  /** A trigger request, answered through the coordinator's emitted request-answered event. */
  const trigger = (options: CheckpointOptions) =>
    new Promise<CompletedCheckpoint>((resolve, reject) => {
      const requestId = ++requests;
      const sub = actor.on('request-answered', (e) => {
        if (e.requestId !== requestId) return;
        sub.unsubscribe();
        if (e.checkpoint) resolve(e.checkpoint);
        else reject(deserializeError(e.error!));
      });
      actor.send({ type: 'TRIGGER', request: { options, requestId } });
    });
  return {
    clock,
    actor,
    log,
    failures,
    ack,
    ackAll,
    tracker,
    trigger,
    advance: (ms: number) => {
      // SimulatedClock fires due timers at the end time: step 1 ms so each fires at its own time
      if (ms === 0) clock.increment(0);
      for (let i = 0; i < ms; i++) clock.increment(1);
    },
  };
}

t.test('triggers periodically and completes when every subtask acknowledged', async (t) => {
  const s = setup();
  s.advance(99);
  t.same(s.log, []);
  s.advance(1);
  t.same(s.log, ['trigger 1 @100']);
  s.ack(1, 'v0#0');
  t.equal(s.tracker().latest, null, 'not complete with one ack missing');
  s.advance(20);
  s.ack(1, 'v1#0');
  t.same(s.log, ['trigger 1 @100', 'complete 1 @120']);
  const latest = s.tracker().latest!;
  t.equal(latest.id, 1);
  t.same(Object.keys(latest.operators).sort(), ['op-v0', 'op-v1']);
  t.equal(latest.stateSize, 20);
  const stats = s.tracker().history[0]!;
  t.equal(stats.status, 'completed');
  t.equal(stats.subtasks.length, 2, 'per-subtask figures kept');
  t.equal(stats.maxAlignmentMs, 2);
});

t.test('max concurrent: a tick while a checkpoint is pending waits for it', async (t) => {
  const s = setup({ maxConcurrent: 1 });
  s.advance(100);
  s.advance(100);
  t.same(s.log, ['trigger 1 @100'], 'no second trigger while 1 is pending');
  s.ackAll(1);
  s.advance(0);
  t.same(s.log, ['trigger 1 @100', 'complete 1 @200', 'trigger 2 @200']);
});

t.test('max concurrent 2 allows two pending checkpoints', async (t) => {
  const s = setup({ maxConcurrent: 2 });
  s.advance(200);
  t.same(s.log, ['trigger 1 @100', 'trigger 2 @200']);
});

t.test('min pause: the next checkpoint starts no sooner than min-pause after the last completed', async (t) => {
  const s = setup({ intervalMs: 100, minPauseMs: 250 });
  s.advance(100);
  s.advance(50);
  s.ackAll(1); // completes at 150
  s.advance(100); // tick at 200 is too early (150 + 250 = 400)
  t.same(s.log, ['trigger 1 @100', 'complete 1 @150']);
  s.advance(149);
  t.equal(s.log.length, 2);
  s.advance(1);
  t.same(s.log.at(-1), 'trigger 2 @400');
});

t.test('timeout aborts the checkpoint; with tolerable failures the job goes on', async (t) => {
  const s = setup({ timeoutMs: 300, tolerableFailures: 1 });
  s.advance(100);
  s.ack(1, 'v0#0');
  s.advance(300);
  t.match(s.log, ['trigger 1 @100', /^abort 1: expired/]);
  t.match(
    s.tracker().history[0]!.failureReason,
    /\(waiting for Reduce -> FileSink \(1\/1\)\)$/,
    'names the missing subtask as people read it',
  );
  t.same(s.failures, [], 'one failure is tolerated');
  s.advance(100);
  t.match(s.log.at(-1), /^trigger 2/);
  s.ackAll(2);
  t.match(s.log.at(-1), /^complete 2/);
  t.equal(s.tracker().consecutiveFailures, 0, 'a success resets the count');
});

t.test('more consecutive failures than tolerable fails the job', async (t) => {
  const s = setup({ timeoutMs: 150, tolerableFailures: 1 });
  s.advance(100);
  s.advance(150); // 1 expires at 250
  s.advance(100); // 2 triggered at 350... expires at 500
  s.advance(200);
  t.equal(s.failures.length, 1);
  t.equal(s.failures[0]!.code, 'FLOE_TOO_MANY_CHECKPOINT_FAILURES');
});

t.test('a decline aborts the checkpoint and notifies the tasks', async (t) => {
  const s = setup({ tolerableFailures: 5 });
  s.advance(100);
  s.actor.send({
    type: 'DECLINE_CHECKPOINT',
    attempt: ATTEMPT,
    checkpointId: 1,
    subtask: { vertexId: 'v1', subtaskIndex: 0 },
    cause: serializeError(new Error('disk full')),
  });
  t.match(s.log, ['trigger 1 @100', 'abort 1: declined by Reduce -> FileSink (1/1)']);
  t.equal(s.tracker().history[0]!.status, 'failed');
  t.match(s.tracker().history[0]!.failureReason, /disk full/);
  t.equal(s.tracker().consecutiveFailures, 1);
});

t.test('a completed checkpoint subsumes older pending ones', async (t) => {
  const s = setup({ maxConcurrent: 3 });
  s.advance(300);
  s.ackAll(3);
  t.same(s.log, [
    'trigger 1 @100',
    'trigger 2 @200',
    'trigger 3 @300',
    'abort 1: subsumed by checkpoint 3',
    'abort 2: subsumed by checkpoint 3',
    'complete 3 @300',
  ]);
  t.equal(s.tracker().consecutiveFailures, 0, 'subsumption is not a failure');
  s.ackAll(1);
  t.equal(s.tracker().latest!.id, 3, 'a late ack of a subsumed checkpoint changes nothing');
});

t.test('suspend (task failure) aborts pending checkpoints without counting them and stops triggering', async (t) => {
  const s = setup();
  s.advance(100);
  s.actor.send({ type: 'SUSPEND', reason: 'task failure' });
  t.match(s.log.at(-1), /^abort 1: job suspended/);
  t.equal(s.tracker().consecutiveFailures, 0);
  s.advance(1000);
  t.equal(s.log.filter((l) => l.startsWith('trigger')).length, 1);
  s.actor.send({ ...START, attempt: ATTEMPT + 1, parallelism: {} });
  s.advance(100);
  t.match(s.log.at(-1), /^trigger 2/, 'ids go on after a restart');
});

t.test('a finished subtask acknowledges later checkpoints with its final state', async (t) => {
  const s = setup();
  s.advance(100);
  s.ackAll(1);
  s.actor.send({ type: 'TASK_STATE_CHANGED', attempt: ATTEMPT, subtask: { vertexId: 'v0', subtaskIndex: 0 }, state: 'finished' });
  s.advance(100);
  s.ack(2, 'v1#0');
  t.match(s.log.at(-1), /^complete 2/);
  t.same(s.tracker().latest!.operators['op-v0']!.subtasks[0]!.operator, { pos: { mode: 'split', items: [1] } });
});

t.test('manual trigger resolves with the completed checkpoint; rejected when not running', async (t) => {
  const s = setup({ enabled: false });
  const done = s.trigger({ kind: 'checkpoint', alignment: 'aligned' });
  s.ackAll(1);
  t.match(await done, { id: 1 });
  s.actor.send({ type: 'SUSPEND', reason: 'canceled' });
  await t.rejects(s.trigger({ kind: 'checkpoint', alignment: 'aligned' }), { code: 'FLOE_JOB_NOT_RUNNING' });
});

/** A persist step the spec settles by hand. */
function manualPersist(log: string[]) {
  const calls = new Map<number, { resolve(): void; reject(e: Error): void }>();
  return {
    calls,
    persist: (cp: CompletedCheckpoint) =>
      new Promise<void>((resolve, reject) => {
        log.push(`persist ${cp.id}`);
        calls.set(cp.id, { resolve, reject });
      }),
  };
}

const flush = () => new Promise((r) => setImmediate(r));

t.test('persist step: a fully acknowledged checkpoint completes only once it is durable', async (t) => {
  const log: string[] = [];
  const p = manualPersist(log);
  const s = setup({}, p.persist);
  s.log.length = 0;
  s.advance(100);
  s.ackAll(1);
  t.same(log, ['persist 1'], 'persisting, not complete');
  t.equal(s.tracker().latest, null);
  t.equal(s.tracker().history[0]!.status, 'in-progress');
  s.advance(100);
  t.same(s.log, ['trigger 1 @100'], 'still pending (not complete): max-concurrent 1 holds the next trigger back');
  s.clock.increment(0);
  p.calls.get(1)!.resolve();
  await flush();
  t.same(log, ['persist 1']);
  t.same(s.log, ['trigger 1 @100', 'complete 1 @200']);
  t.equal(s.tracker().latest!.id, 1);
  t.equal(s.tracker().history[0]!.status, 'completed');
  s.advance(0);
  t.match(s.log.at(-1), /^trigger 2/, 'the deferred trigger runs once it completed');
});

t.test('persist step: a failed persist aborts the checkpoint as a counted failure; the next one can complete', async (t) => {
  const log: string[] = [];
  const p = manualPersist(log);
  const s = setup({ tolerableFailures: 1 }, p.persist);
  s.advance(100);
  s.ackAll(1);
  p.calls.get(1)!.reject(new Error('ENOSPC: no space left on device'));
  await flush();
  t.match(s.log.at(-1), /^abort 1: could not be made durable/);
  t.match(s.tracker().history[0]!.failureReason, /ENOSPC/);
  t.equal(s.tracker().consecutiveFailures, 1);
  t.equal(s.tracker().latest, null, 'never the restart point');
  t.same(s.failures, []);
  s.advance(100);
  s.ackAll(2);
  p.calls.get(2)!.resolve();
  await flush();
  t.match(s.log.at(-1), /^complete 2/);
  t.equal(s.tracker().consecutiveFailures, 0);
});

t.test('persist step: a checkpoint that times out while persisting stays aborted when the persist resolves late', async (t) => {
  const log: string[] = [];
  const p = manualPersist(log);
  const s = setup({ timeoutMs: 300, tolerableFailures: 5 }, p.persist);
  s.advance(100);
  s.ackAll(1);
  s.advance(300);
  t.match(s.log.at(-1), /^abort 1: expired/);
  p.calls.get(1)!.resolve();
  await flush();
  t.notOk(
    s.log.some((l) => l.startsWith('complete')),
    'not completed after its abort',
  );
  t.equal(s.tracker().latest, null);
});

t.test('RESTORED makes a checkpoint loaded from disk the restart point and moves ids past it', async (t) => {
  const s = setup();
  s.actor.send({
    type: 'RESTORED',
    checkpoint: {
      id: 41,
      kind: 'checkpoint',
      timestamp: 0,
      completedAt: 0,
      durationMs: 0,
      stateSize: 0,
      maxParallelism: 128,
      operators: {},
    },
  });
  t.equal(s.tracker().latest!.id, 41);
  s.advance(100);
  t.same(s.log, ['trigger 42 @100']);
});
