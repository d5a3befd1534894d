// A TaskManager's data port on a real loopback socket: garbage, another version, a connection cut in the middle of a frame, data for no attempt — each ends that one connection, the TaskManager stays registered and accepts its peers.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import t from 'tap';
import { WebSocket } from 'ws';
import { CLUSTER_PROTOCOL_VERSION, encodeFrame } from '../../src/cluster/cluster-frames.ts';
import { JobManagerEndpoint } from '../../src/cluster/job-manager-endpoint.ts';
import { TaskManager } from '../../src/cluster/task-manager.ts';

/** A websocket to the data port: how it was closed. */
function peer(address: string) {
  const ws = new WebSocket(`ws://${address}/data`);
  ws.on('error', () => {});
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, opened, closed };
}

/** A raw TCP client that upgrades to a websocket, then sends the header of a 64 KiB binary frame and 100 bytes of it, and hangs up. */
async function cutMidFrame(address: string): Promise<void> {
  const [host, port] = address.split(':') as [string, string];
  const socket = connect(Number(port), host);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `GET /data HTTP/1.1\r\nHost: ${address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve) =>
    socket.once('data', (d: Buffer) => (d.toString().startsWith('HTTP/1.1 101') ? resolve() : resolve())),
  );
  // FIN + binary, masked, 64-bit length 65536, mask key, then only part of the payload
  const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]);
  socket.write(Buffer.concat([header, randomBytes(100)]));
  await new Promise<void>((resolve) => socket.end(resolve));
  socket.destroy();
}

t.test('bad peers end only their own connection; the TaskManager stays registered and takes a good peer', async (t) => {
  const endpoint = new JobManagerEndpoint({ heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 50_000 });
  await endpoint.start();
  t.teardown(() => endpoint.close());
  const tm = new TaskManager({ jobManager: endpoint.address, slots: 1, loadJob: () => Promise.reject(new Error('no job in this spec')) });
  let disconnected = false;
  tm.on('disconnected', () => (disconnected = true));
  await tm.start();
  t.teardown(() => tm.close());
  const data = endpoint.taskManagers[0]!.data;

  const garbage = peer(data);
  await garbage.opened;
  garbage.ws.send(Buffer.from([0xc1, 0xff, 0x00, 0x13]));
  t.same(
    await garbage.closed,
    { code: 1008, reason: 'FLOE_CLUSTER_FRAME_INVALID' },
    'a frame that does not decode closes the connection with the code',
  );

  const old = peer(data);
  await old.opened;
  old.ws.send(encodeFrame({ k: 'hello', id: 'tm-9', version: CLUSTER_PROTOCOL_VERSION + 1 }));
  t.same(await old.closed, { code: 1008, reason: 'FLOE_CLUSTER_FRAME_INVALID' }, 'a peer of another protocol version is refused');

  await cutMidFrame(data);

  // a good peer: its hello is taken, then data of an attempt that is not deployed here changes nothing
  const good = peer(data);
  await good.opened;
  good.ws.send(encodeFrame({ k: 'hello', id: 'tm-0', version: CLUSTER_PROTOCOL_VERSION }));
  good.ws.send(encodeFrame({ k: 'msg', a: 7, ch: 'v0.0:0:0', m: { type: 'data', batch: [1, 2, 3] } as never }));
  good.ws.send(encodeFrame({ k: 'credit', a: 7, ch: 'v0.0:0:0', n: 2 }));
  // the frame after them is answered in order: the connection is still open when a ping comes back
  await new Promise<void>((resolve) => {
    good.ws.once('pong', () => resolve());
    good.ws.ping();
  });
  t.equal(good.ws.readyState, WebSocket.OPEN, 'the good peer stays connected');
  good.ws.close();
  await good.closed;

  t.equal(endpoint.taskManagers.length, 1, 'the TaskManager is still registered at the JobManager');
  t.notOk(disconnected, 'its connection to the JobManager never closed');
});
