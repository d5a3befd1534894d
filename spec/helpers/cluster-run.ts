// Shared by the cluster specs: `floe run` of the gated count as a child process, its REST address, job id and TaskManager pids.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const bin = join(root, 'bin/floe.js');
export const jobFile = join(root, 'spec/fixtures/gated-count-job.ts');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(check: () => boolean | Promise<boolean>, what: string, log: () => string, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${log()}`);
    await sleep(50);
  }
}

/** `floe run` of the gated count (records paced by `<dir>/gate`), its stderr collected; `keys`/`rounds` as the fixture's KEYS/ROUNDS. */
export class FloeRun {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly dir: string,
    extra: string[],
    readonly keys: number,
    readonly rounds: number,
  ) {
    const args = [
      bin,
      'run',
      jobFile,
      '--checkpoint-dir',
      join(dir, 'chk'),
      '--checkpoint-interval',
      '100ms',
      '--rest-port',
      '0',
      '-D',
      `state.backend.level.localdir=${join(dir, 'level')}`,
      ...extra,
    ];
    this.child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, KEYS: String(keys), ROUNDS: String(rounds), GATE_FILE: join(dir, 'gate'), OUT: join(dir, 'out') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stdout!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** pids of the TaskManagers the local cluster started */
  get taskManagers(): number[] {
    const m = /local cluster: .*\(pids ([\d, ]+)\)/.exec(this.log);
    return m ? m[1]!.split(', ').map(Number) : [];
  }

  get rest(): string | undefined {
    return /REST API listening on (http:\/\/[\d.:]+)/.exec(this.log)?.[1];
  }

  get jobId(): string | undefined {
    return /\(([0-9a-f]{32})\) running/.exec(this.log)?.[1];
  }

  get running(): boolean {
    return /running, pid/.test(this.log) && this.rest !== undefined;
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.rest}${path}`);
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
}

export const setGate = (dir: string, n: number) => writeFileSync(join(dir, 'gate'), String(n));

/** Ids of the completed checkpoints of the run's jobs. */
export function completedCheckpoints(dir: string): number[] {
  const chk = join(dir, 'chk');
  if (!existsSync(chk)) return [];
  return readdirSync(chk).flatMap((job) =>
    readdirSync(join(chk, job))
      .filter((d) => /^chk-\d+$/.test(d) && existsSync(join(chk, job, d, '_metadata')))
      .map((d) => Number(d.slice(4))),
  );
}

/** The id of the newest completed checkpoint, 0 before the first (ids, not a count: older ones are discarded as newer ones complete). */
export function latestCheckpoint(dir: string): number {
  return Math.max(0, ...completedCheckpoints(dir));
}

/** The committed output lines (not in-progress or pending files), sorted. */
export function outputLines(dir: string): string[] {
  const out = join(dir, 'out');
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean))
    .sort();
}

/** Whether `pid` runs: an exited process nobody reaped yet (a zombie, where pid 1 does not reap orphans) counts as gone. */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (not Linux): signal 0 is all there is
  }
};

/** `floe <args>` to its end: exit code and output. */
export function floe(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
