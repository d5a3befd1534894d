// A nats-server with JetStream on loopback for a spec: random free port, temporary store directory, stopped at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether nats-server is installed (.ci/run installs it; a developer machine may lack it). */
export function natsServerAvailable(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export class NatsServer {
  child: ChildProcess | null = null;
  log = '';

  private constructor(readonly port: number, readonly storeDir: string) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts a server and waits until it accepts connections. */
  static async start(): Promise<NatsServer> {
    const server = new NatsServer(await freePort(), mkdtempSync(join(tmpdir(), 'floe-nats-')));
    await server.resume();
    return server;
  }

  /** (Re)starts the process on the same port and store: a server that went away comes back with its streams. */
  async resume(): Promise<void> {
    const child = spawn('nats-server', ['-js', '-sd', this.storeDir, '-a', '127.0.0.1', '-p', String(this.port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    const end = Date.now() + 30_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${this.log}`);
      if (Date.now() > end) throw new Error(`nats-server did not start on port ${this.port}: ${this.log}`);
      await sleep(50);
    }
  }

  /** Stops the process (kill -9 with `hard`), keeping the store. */
  async stop(hard = false): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
