// The control protocol's codec: every message kind survives encode/decode, errors keep code, message, stack, hint and cause.
import t from 'tap';
import { decodeControlMessage, encodeControlMessage } from '../../src/checkpoint/control-codec.ts';
import {
  CONTROL_MESSAGE_TYPES,
  recipientsOf,
  taskSystemId,
  type ControlMessage,
  type FromTaskMessage,
  type TaskRestore,
} from '../../src/checkpoint/control-messages.ts';
import { codedCause, deserializeError, serializeError } from '../../src/checkpoint/serialized-error.ts';
import type { TaskStateSnapshot } from '../../src/checkpoint/state-handles.ts';
import { CheckpointError, SavepointError, StateValueError, UnrecoverableError } from '../../src/errors.ts';

const roundTrip = <M extends ControlMessage>(m: M): M => decodeControlMessage(encodeControlMessage(m)) as M;
const subtask = { vertexId: 'v1', subtaskIndex: 2 };
const bytes = (...b: number[]) => new Uint8Array(b);

/** Operator state as users leave it: Maps, Sets, Dates, BigInt, -0, undefined, nesting. */
const userItems = [
  new Map<unknown, unknown>([
    ['a', 1],
    [2, new Set(['x'])],
  ]),
  new Date(1_700_000_000_000),
  12345678901234567890n,
  -0,
  undefined,
  { nested: [1, 'two', null] },
];
const state: TaskStateSnapshot = {
  source: { keyed: null, operator: { offsets: { mode: 'union', items: userItems } } },
  count: {
    keyed: {
      type: 'incremental',
      base: { type: 'file', path: 'shared/base', size: 40, checksum: 'ab'.repeat(32) },
      deltas: [{ type: 'bytes', bytes: bytes(1, 2, 3), size: 3 }],
      size: 43,
    },
    operator: {},
  },
};
const channelState = { operatorUid: 'count', subtaskIndex: 2, parallelism: 3, inputChannels: 2, inputs: [[bytes(9, 9)], []], bytes: 2 };
const restore: TaskRestore = {
  checkpointId: 7,
  operators: { count: { parallelism: 3, subtasks: [state.count!, { keyed: null, operator: {} }, state.source!] } },
  channelState: { 'count#2': channelState },
};

/** One message of each kind, as the runtime sends it. */
const messages: { [K in ControlMessage['type']]: Extract<ControlMessage, { type: K }> } = {
  DEPLOY_TASK: { type: 'DEPLOY_TASK', attempt: 3, restore },
  TRIGGER_CHECKPOINT: {
    type: 'TRIGGER_CHECKPOINT',
    attempt: 3,
    checkpointId: 8,
    timestamp: 1_700_000_000_123,
    options: { kind: 'savepoint', alignment: 'aligned', targetDirectory: '/sp', drained: true },
  },
  NOTIFY_CHECKPOINT_COMPLETE: { type: 'NOTIFY_CHECKPOINT_COMPLETE', attempt: 3, checkpointId: 8 },
  NOTIFY_CHECKPOINT_ABORTED: {
    type: 'NOTIFY_CHECKPOINT_ABORTED',
    attempt: 3,
    checkpointId: 9,
    cause: {
      code: 'FLOE_CHECKPOINT_DECLINED',
      message: 'declined by v1#2: disk full',
      cause: serializeError(codedCause(new Error('disk full'))),
    },
  },
  CANCEL_TASK: { type: 'CANCEL_TASK', attempt: 3 },
  DRAIN_TASK: { type: 'DRAIN_TASK', attempt: 3 },
  ACKNOWLEDGE_CHECKPOINT: {
    type: 'ACKNOWLEDGE_CHECKPOINT',
    attempt: 3,
    subtask,
    checkpointId: 8,
    state,
    metrics: {
      alignmentDurationMs: 1.5,
      startDelayMs: 2,
      syncDurationMs: 0.25,
      asyncDurationMs: 4,
      stateSize: 43,
      bufferedDuringAlignment: 10,
      bytesHeldDuringAlignment: 120,
      unaligned: true,
      persistedInFlightBytes: 2,
    },
    channelState,
  },
  DECLINE_CHECKPOINT: {
    type: 'DECLINE_CHECKPOINT',
    attempt: 3,
    subtask,
    checkpointId: 9,
    cause: serializeError(new CheckpointError('FLOE_CHECKPOINT_SUBSUMED', 'checkpoint 9 subsumed at count (3/3)')),
  },
  TASK_STATE_CHANGED: { type: 'TASK_STATE_CHANGED', attempt: 3, subtask, state: 'finishing' },
  TASK_FAILED: {
    type: 'TASK_FAILED',
    attempt: 3,
    subtask,
    error: serializeError(
      new StateValueError('FLOE_STATE_VALUE_NOT_SERIALIZABLE', 'state holds a function', {
        hint: 'keep plain data',
        cause: new TypeError('not cloneable'),
      }),
    ),
  },
  END_OF_INPUT: { type: 'END_OF_INPUT', attempt: 3, subtask },
  FINAL_STATE: { type: 'FINAL_STATE', attempt: 3, subtask, state },
  TASK_METRICS: {
    type: 'TASK_METRICS',
    attempt: 3,
    subtask,
    sample: {
      recordsIn: 1_000_000,
      recordsOut: 999_999,
      backpressured: true,
      busyTimeMsPerSecond: 250,
      backPressuredTimeMsPerSecond: 700,
      idleTimeMsPerSecond: 50,
      sampledAt: 1_700_000_000_000,
    },
  },
};

t.test('the spec covers every message kind of the protocol', async (t) => {
  t.same(Object.keys(messages).sort(), [...CONTROL_MESSAGE_TYPES].sort());
});

for (const [type, message] of Object.entries(messages)) {
  t.test(`${type} survives an encode/decode round trip`, async (t) => {
    const decoded = roundTrip(message);
    t.same(decoded, message);
    t.equal(decoded.type, type);
    t.equal(decoded.attempt, 3, 'the execution attempt travels with every message');
  });
}

t.test('operator state inside a message keeps its types (the state value format)', async (t) => {
  const items = roundTrip(messages.ACKNOWLEDGE_CHECKPOINT).state.source!.operator.offsets!.items;
  t.ok(items[0] instanceof Map && (items[0] as Map<unknown, unknown>).get(2) instanceof Set, 'a Map holding a Set');
  t.ok(items[1] instanceof Date);
  t.equal(items[2], 12345678901234567890n);
  t.ok(Object.is(items[3], -0), '-0 stays -0');
  t.ok(4 in items && items[4] === undefined, 'undefined stays undefined');
  const restored = roundTrip(messages.DEPLOY_TASK).restore!;
  t.same([...restored.channelState!['count#2']!.inputs[0]![0]!], [9, 9], 'in-flight buffers');
  t.same(restored.operators.count!.subtasks[0]!.keyed, state.count!.keyed, 'an incremental handle with file and bytes parts');
});

t.test('a task failure keeps code, message, stack, hint and the cause chain; floe errors come back as their class', async (t) => {
  const decoded = deserializeError(roundTrip(messages.TASK_FAILED).error);
  t.ok(decoded instanceof StateValueError, 'a StateValueError again');
  t.ok(decoded instanceof UnrecoverableError, 'so restarting is still known to be useless');
  t.match(decoded, {
    name: 'StateValueError',
    code: 'FLOE_STATE_VALUE_NOT_SERIALIZABLE',
    message: 'state holds a function',
    hint: 'keep plain data',
  });
  t.match(decoded.stack, /StateValueError: state holds a function/, 'the stack of where it was thrown');
  t.ok(decoded.cause instanceof TypeError);
  t.match(decoded.cause, { message: 'not cloneable' });
});

t.test('errors of other classes keep their name and code; an unrecoverable subclass stays unrecoverable', async (t) => {
  class SinkGone extends UnrecoverableError {}
  const sink = deserializeError(serializeError(new SinkGone('FLOE_SINK_PENDING_FILE_MISSING', 'part-0 is gone', { hint: 'skip it' })));
  t.ok(sink instanceof UnrecoverableError);
  t.match(sink, { name: 'SinkGone', code: 'FLOE_SINK_PENDING_FILE_MISSING', hint: 'skip it' });
  const io = deserializeError(serializeError(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })));
  t.match(io, { name: 'Error', code: 'ENOSPC', message: /ENOSPC/ });
  t.same(serializeError('a thrown string'), { name: 'Error', message: 'a thrown string' });
  const cyclic = new Error('a') as Error & { cause?: unknown };
  cyclic.cause = cyclic;
  let depth = 0;
  for (let s = serializeError(cyclic); s.cause; s = s.cause) depth++;
  t.ok(depth > 0 && depth <= 16, 'a cyclic cause chain is cut');
});

t.test('a decline always carries a coded cause', async (t) => {
  const coded = codedCause(new Error('disk full'));
  t.match(coded, { code: 'FLOE_CHECKPOINT_SNAPSHOT_FAILED', message: 'disk full' });
  t.match((coded as Error).cause, { message: 'disk full' });
  const own = new SavepointError('FLOE_SAVEPOINT_WRITE_FAILED', 'no');
  t.equal(codedCause(own), own, 'a coded error is its own cause');
});

t.test('bytes that are not a control message are refused with a code', async (t) => {
  t.throws(() => decodeControlMessage(new Uint8Array([0xc1])), { code: 'FLOE_CONTROL_MESSAGE_INVALID' });
  const stranger = encodeControlMessage({ type: 'HELLO', attempt: 1 } as never);
  t.throws(() => decodeControlMessage(stranger), { code: 'FLOE_CONTROL_MESSAGE_INVALID', message: /HELLO/ });
  const noAttempt = encodeControlMessage({ type: 'CANCEL_TASK' } as never);
  t.throws(() => decodeControlMessage(noAttempt), { code: 'FLOE_CONTROL_MESSAGE_INVALID', message: /attempt/ });
  t.throws(() => encodeControlMessage({ ...messages.TASK_METRICS, sample: { f: () => 1 } } as never), {
    code: 'FLOE_STATE_VALUE_NOT_SERIALIZABLE',
  });
});

t.test('addresses: a task message goes to the coordinator, the job master or both; task ids carry the attempt', async (t) => {
  const to = (m: FromTaskMessage) => [...recipientsOf(m)].sort();
  t.same(to(messages.ACKNOWLEDGE_CHECKPOINT), ['checkpoint-coordinator']);
  t.same(to(messages.DECLINE_CHECKPOINT), ['checkpoint-coordinator']);
  t.same(to(messages.TASK_STATE_CHANGED), ['checkpoint-coordinator', 'job-master']);
  t.same(to(messages.END_OF_INPUT), ['checkpoint-coordinator', 'job-master']);
  t.same(to(messages.FINAL_STATE), ['checkpoint-coordinator']);
  t.same(to(messages.TASK_FAILED), ['job-master']);
  t.same(to(messages.TASK_METRICS), ['job-master']);
  t.equal(taskSystemId(subtask, 3), 'task:v1#2:3');
  t.not(taskSystemId(subtask, 3), taskSystemId(subtask, 4));
});
