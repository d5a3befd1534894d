// The operating system's error behind a local-disk failure: its errno code, found through wrappers, and whether a restart can heal it.

/** What the system said: `code` is the errno name (ENOTDIR, EACCES, ...). */
export interface SystemError {
  code: string;
  message: string;
}

/**
 * LevelDB reports a failed system call as text ending in strerror(errno) ("IO error: /d/LOCK:
 * Permission denied"), without the code: these map the texts back, so every message names the code.
 */
const STRERROR: Record<string, string> = {
  'Permission denied': 'EACCES',
  'Operation not permitted': 'EPERM',
  'Not a directory': 'ENOTDIR',
  'Is a directory': 'EISDIR',
  'Read-only file system': 'EROFS',
  'File exists': 'EEXIST',
  'No such file or directory': 'ENOENT',
  'No space left on device': 'ENOSPC',
  'Disk quota exceeded': 'EDQUOT',
  'Too many open files': 'EMFILE',
  'File name too long': 'ENAMETOOLONG',
  'Input/output error': 'EIO',
};

/**
 * Codes a restart meets again: the path is wrong (under a file, a file where a directory belongs)
 * or may not be written. A full disk (ENOSPC), a missing directory (ENOENT) or too many open
 * files can clear up, so those restart as before.
 */
const PERMANENT = new Set(['ENOTDIR', 'EISDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP']);

const ERRNO = /^E[A-Z0-9]+$/;

/** The system error in `error` or its causes (classic-level wraps it in "Database failed to open"), or null. */
export function systemErrorOf(error: unknown): SystemError | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && ERRNO.test(code)) return { code, message: e.message };
    const text = Object.keys(STRERROR).find((s) => e instanceof Error && e.message.endsWith(s));
    if (text) return { code: STRERROR[text]!, message: e.message };
  }
  return null;
}

/** The innermost message under `error` that says what went wrong, with its errno code when there is one. */
export function describeCause(error: unknown): string {
  const system = systemErrorOf(error);
  if (system) return system.message.startsWith(`${system.code}:`) ? system.message : `${system.code}: ${system.message}`;
  let e = error;
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 8; depth++) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** Whether restarting cannot heal the system error behind `error`. */
export function isPermanentSystemError(error: unknown): boolean {
  const system = systemErrorOf(error);
  return system !== null && PERMANENT.has(system.code);
}
