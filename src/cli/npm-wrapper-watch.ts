// When npm started floe (`npx floe`, `npm run`), a kill meant for floe lands on npm: find out, and stop as that kill would have.
//
// npm runs floe under `sh -c` (npm → sh → node floe). `kill <npm pid>`: npm passes SIGTERM to the
// shell, which dies of it and floe is left running. `kill -9 <npm pid>`: npm dies, the shell goes on
// waiting for floe. Node has no parent-death signal, so floe watches that chain of processes.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Ancestor {
  pid: number;
  /** its command line, as ps shows it (npm's is its process title: `npm exec floe run ...`) */
  command: string;
}

export type WrapperEnd =
  /** npm passed a SIGINT or SIGTERM on to the shell floe runs in, which died of it: stop cleanly */
  | { kind: 'signaled'; shell: Ancestor; npm: Ancestor }
  /** npm died without passing anything on: it was SIGKILLed (or crashed), so floe ends the same way */
  | { kind: 'killed'; npm: Ancestor };

const POLL_MS = 500;

const isNpm = (command: string) =>
  /^np[mx](\s|$)/.test(command) ||
  /[/\\]np[mx]-cli\.js(\s|$)/.test(command) ||
  (process.env.npm_execpath !== undefined && command.includes(process.env.npm_execpath));
const isShellCommand = (command: string) => /^(\S*\/)?(sh|bash|dash|zsh)\s+-c(\s|$)/.test(command);

/** A process's parent and command line: /proc on Linux, ps elsewhere. */
function describe(pid: number): { ppid: number; command: string } | undefined {
  try {
    if (process.platform === 'linux') {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
      return { ppid, command };
    }
    const [ppid, ...command] = execFileSync('ps', ['-o', 'ppid=', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .split(/\s+/);
    return { ppid: Number(ppid), command: command.join(' ') };
  } catch {
    return undefined;
  }
}

/**
 * The processes between floe and the npm that started it, floe's parent first and npm last; empty
 * when floe was not started by npm directly (npm's variables are inherited by everything under an
 * npm script, so the chain itself decides: only shells running `-c`, then npm).
 */
export function npmWrapperChain(): Ancestor[] {
  if (process.platform === 'win32' || process.env.npm_lifecycle_event === undefined) return [];
  const chain: Ancestor[] = [];
  for (let pid = process.ppid; chain.length < 4 && pid > 1;) {
    const info = describe(pid);
    if (!info) return [];
    chain.push({ pid, command: info.command });
    if (isNpm(info.command)) return chain;
    if (!isShellCommand(info.command)) return [];
    pid = info.ppid;
  }
  return [];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What became of the chain, if it ended: a parent gone means floe was reparented; a process above it gone means it died first. */
export function wrapperEnd(chain: Ancestor[], ppid: number, alive: (pid: number) => boolean): WrapperEnd | undefined {
  const [parent, ...above] = chain;
  const npm = chain.at(-1)!;
  if (!parent) return undefined;
  if (ppid !== parent.pid) {
    // npm passes SIGINT and SIGTERM to its child: when that child is floe itself, floe got the signal,
    // so a parent npm gone without one was killed
    return parent === npm ? { kind: 'killed', npm } : { kind: 'signaled', shell: parent, npm };
  }
  return above.some((p) => !alive(p.pid)) ? { kind: 'killed', npm } : undefined;
}

/** Polls the chain (without keeping the process alive) and calls `onEnd` once if it ends; returns the stop function. */
export function watchNpmWrapper(onEnd: (end: WrapperEnd) => void, chain = npmWrapperChain()): () => void {
  if (chain.length === 0) return () => {};
  const timer = setInterval(() => {
    const end = wrapperEnd(chain, process.ppid, isAlive);
    if (!end) return;
    clearInterval(timer);
    onEnd(end);
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
