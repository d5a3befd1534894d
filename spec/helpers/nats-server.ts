// A nats-server with JetStream on loopback for a spec: random free port, temporary store directory, stopped at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    readonly config: string | null,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts a server and waits until it accepts connections. `mappings`: subject mappings of the
   * default account (e.g. deterministic partitioning, `{{partition(4,1)}}`), in a config file.
   */
  static async start(options: { mappings?: Record<string, string> } = {}): Promise<NatsServer> {
    const dir = mkdtempSync(join(tmpdir(), 'floe-nats-'));
    let config: string | null = null;
    if (options.mappings) {
      config = join(dir, 'nats.conf');
      const lines = Object.entries(options.mappings).map(([from, to]) => `  ${JSON.stringify(from)}: ${JSON.stringify(to)}`);
      writeFileSync(config, `mappings = {\n${lines.join('\n')}\n}\n`);
    }
    // the free port may be taken by another process before the server binds it: then another port
    for (let attempt = 1; ; attempt++) {
      const server = new NatsServer(await freePort(), dir, config);
      try {
        await server.resume();
        return server;
      } catch (error) {
        if (attempt >= 3 || server.child?.exitCode === null) throw error;
      }
    }
  }

  /** (Re)starts the process on the same port and store: a server that went away comes back with its streams. */
  async resume(): Promise<void> {
    const args = [...(this.config ? ['-c', this.config] : []), '-js', '-sd', this.storeDir, '-a', '127.0.0.1', '-p', String(this.port)];
    const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
