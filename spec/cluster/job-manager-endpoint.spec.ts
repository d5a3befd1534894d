// The JobManager's cluster endpoint on a real loopback socket: registration, refusals, bad frames, heartbeats, slots; placement; the remote channel's credits.
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import {
  CLUSTER_PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  MAX_FRAME_BYTES,
  type JobManagerFrame,
} from '../../src/cluster/cluster-frames.ts';
import { JobManagerEndpoint } from '../../src/cluster/job-manager-endpoint.ts';
import { RemoteOutputChannel } from '../../src/cluster/remote-channel.ts';
import { placeSubtasks } from '../../src/cluster/remote-execution.ts';
import type { ChannelMessage } from '../../src/actors/types.ts';

async function endpoint(t: Test, options: Partial<ConstructorParameters<typeof JobManagerEndpoint>[0]> = {}) {
  const e = new JobManagerEndpoint({ heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000, ...options });
  await e.start();
  t.teardown(() => e.close());
  return e;
}

/** A raw client: sends what it is told, collects frames and how it was closed. */
function client(address: string) {
  const ws = new WebSocket(`ws://${address}/taskmanager`);
  const frames: JobManagerFrame[] = [];
  ws.on('message', (raw: Buffer) => frames.push(decodeFrame<JobManagerFrame>(raw, 'jm')));
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => {});
  return { ws, frames, opened, closed };
}

const register = (extra: Record<string, unknown> = {}) =>
  encodeFrame({ k: 'register', version: CLUSTER_PROTOCOL_VERSION, slots: 2, data: '127.0.0.1:1', pid: 1, ...extra } as never);

t.test('a TaskManager registers its slots; waitForSlots resolves once there are enough', async (t) => {
  const e = await endpoint(t);
  const waiting = e.waitForSlots(3, 30_000);
  const a = client(e.address);
  await a.opened;
  a.ws.send(register());
  const b = client(e.address);
  await b.opened;
  b.ws.send(register({ slots: 1 }));
  const tms = await waiting;
  t.same(tms.map((x) => x.slots).sort(), [1, 2]);
  t.equal(e.slots, 3);
  t.same(a.frames[0], { k: 'registered', id: tms.find((x) => x.slots === 2)!.id });
  a.ws.close();
  b.ws.close();
});

t.test('too few slots: a coded error after slot.request.timeout that says how many were needed and there were', async (t) => {
  const e = await endpoint(t);
  const a = client(e.address);
  await a.opened;
  a.ws.send(register({ slots: 1 }));
  await new Promise((r) => e.once('registered', r));
  await t.rejects(e.waitForSlots(4, 50), { code: 'FLOE_NOT_ENOUGH_SLOTS', message: /needs 4 slots .* has 1/ });
  a.ws.close();
});

t.test('a wrong token and another protocol version are refused with a code; the endpoint goes on serving', async (t) => {
  const e = await endpoint(t, { token: 'sesame' });
  const wrong = client(e.address);
  await wrong.opened;
  wrong.ws.send(register({ token: 'guess' }));
  t.equal((await wrong.closed).reason, 'FLOE_CLUSTER_AUTH_FAILED');
  t.equal(wrong.frames[0]?.k, 'refused');
  const old = client(e.address);
  await old.opened;
  old.ws.send(register({ token: 'sesame', version: CLUSTER_PROTOCOL_VERSION + 1 }));
  t.equal((await old.closed).reason, 'FLOE_CLUSTER_VERSION_MISMATCH');
  const good = client(e.address);
  await good.opened;
  good.ws.send(register({ token: 'sesame' }));
  await new Promise((r) => e.once('registered', r));
  t.equal(e.taskManagers.length, 1, 'only the TaskManager with the token joined');
  good.ws.close();
});

t.test('a garbage frame, a frame before registering and an oversized frame close only that connection', async (t) => {
  const e = await endpoint(t);
  const good = client(e.address);
  await good.opened;
  good.ws.send(register());
  await new Promise((r) => e.once('registered', r));
  const lost: string[] = [];
  e.on('lost', (tm) => lost.push(tm.id));

  const garbage = client(e.address);
  await garbage.opened;
  garbage.ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
  t.equal((await garbage.closed).reason, 'FLOE_CLUSTER_FRAME_INVALID');

  const early = client(e.address);
  await early.opened;
  early.ws.send(encodeFrame({ k: 'attempt-stopped', attempt: 0 }));
  t.equal((await early.closed).reason, 'FLOE_CLUSTER_NOT_REGISTERED');

  const big = client(e.address);
  await big.opened;
  big.ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1));
  t.equal((await big.closed).code, 1009, 'over the frame size limit: closed as too big');

  good.ws.send(encodeFrame({ k: 'register', version: CLUSTER_PROTOCOL_VERSION, slots: 1, data: 'x:1', pid: 2 }));
  t.equal(e.taskManagers.length, 1, 'the registered TaskManager stays');
  t.same(lost, [], 'no registered TaskManager was lost');
  good.ws.close();
});

t.test('a TaskManager that stops answering heartbeats is lost after heartbeat.timeout', async (t) => {
  const e = await endpoint(t, { heartbeatIntervalMs: 20, heartbeatTimeoutMs: 200 });
  const a = client(e.address);
  await a.opened;
  // a paused process answers no ping: ws answers pings itself, so stop it from doing so
  (a.ws as unknown as { pong: () => void }).pong = () => {};
  a.ws.send(register());
  const [tm, reason] = (await new Promise((r) => e.once('lost', (...args) => r(args)))) as [{ id: string }, string];
  t.match(reason, /no heartbeat for \d+ ms \(heartbeat\.timeout 200 ms\)/);
  t.equal(e.taskManagers.length, 0, `${tm.id} is gone`);
});

t.test('slot sharing: slot i holds subtask i of every vertex, slots spread round robin over the TaskManagers', async (t) => {
  const placement = placeSubtasks(
    [
      { id: 'v0', parallelism: 1 },
      { id: 'v1', parallelism: 4 },
      { id: 'v2', parallelism: 2 },
    ],
    [
      { id: 'tm-1', slots: 2 },
      { id: 'tm-2', slots: 2 },
    ],
  );
  t.same(placement, { 'v0#0': 'tm-1', 'v1#0': 'tm-1', 'v1#1': 'tm-2', 'v1#2': 'tm-1', 'v1#3': 'tm-2', 'v2#0': 'tm-1', 'v2#1': 'tm-2' });
});

t.test(
  'a remote channel sends nothing before its credits are announced, then keeps the order; data takes credit, events do not',
  async (t) => {
    const sent: ChannelMessage[] = [];
    const ch = new RemoteOutputChannel('v0.0:0:1', (m) => sent.push(m));
    let woken = 0;
    ch.onCredit = () => woken++;
    ch.push({ type: 'data', batch: [1] });
    ch.push({ type: 'barrier', checkpointId: 1, timestamp: 0, options: { kind: 'checkpoint', alignment: 'aligned' } });
    t.same(sent, [], 'waits for the announcement');
    t.equal(ch.credits, -1);
    ch.addCredit(2);
    t.same(
      sent.map((m) => m.type),
      ['data', 'barrier'],
      'in order once announced',
    );
    t.equal(ch.credits, 1);
    ch.push({ type: 'end-of-partition' });
    t.equal(ch.credits, 1, 'an event takes no credit');
    ch.addCredit(1);
    t.equal(ch.credits, 2);
    t.equal(woken, 2, 'the producer is woken by each credit');
  },
);
