// `floe run` as a user starts it, for process specs: node bin/floe.js or `npx floe`, its log, its pid, its port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const bin = join(root, 'bin/floe.js');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (polling) until `check` holds; the timeout only ends a hung spec, it asserts nothing about time. */
export async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A process that exists and is no zombie (an exited orphan waits in the process table until init reaps it). */
export function isRunning(pid: number): boolean {
  if (process.platform === 'linux') {
    if (!existsSync(`/proc/${pid}/stat`)) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether nothing accepts connections on 127.0.0.1:port (the REST port was released). */
export function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

export interface FloeRunOptions {
  /** `npx floe run ...` (npm → sh → node floe), as the README starts it, instead of node bin/floe.js */
  npx?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** One `floe run` in a child process, its stderr collected; `pid` and `port` are floe's own, read from what it prints. */
export class FloeRun {
  readonly child: ChildProcess;
  log = '';
  /** the started process's exit (npm's, under npx) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], options: FloeRunOptions = {}) {
    const [command, prefix] = options.npx ? ['npx', ['floe']] : [process.execPath, [bin]];
    this.child = spawn(command, [...prefix, 'run', ...args], {
      cwd: options.cwd ?? root,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** floe's pid, from its running line */
  get pid(): number | undefined {
    const m = / running, pid (\d+)/.exec(this.log);
    return m ? Number(m[1]) : undefined;
  }

  get port(): number | undefined {
    const m = /REST API listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.log);
    return m ? Number(m[1]) : undefined;
  }

  async waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray> {
    await until(
      () => pattern.test(this.log) || (this.child.exitCode !== null && !this.isFloeRunning()),
      `${pattern} in:\n${this.log}`,
      timeoutMs,
    );
    const m = pattern.exec(this.log);
    if (!m) throw new Error(`floe ended before ${pattern}:\n${this.log}`);
    return m;
  }

  /** Resolves once floe itself has ended (under npx, npm may end first or last). */
  async floeEnded(timeoutMs?: number): Promise<void> {
    await until(() => !this.isFloeRunning(), `floe (pid ${this.pid}) to end:\n${this.log}`, timeoutMs);
  }

  isFloeRunning(): boolean {
    const pid = this.pid ?? this.child.pid;
    return pid !== undefined && isRunning(pid);
  }
}
