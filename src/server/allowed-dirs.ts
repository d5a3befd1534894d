// Where REST requests may write or delete savepoints: inside the allowed directories, judged after resolving symlinks.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';

function inside(dir: string, root: string): boolean {
  const rel = relative(root, dir);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * The real path of `path`: symlinks of its longest existing prefix resolved, the rest (directories the
 * savepoint will create) appended. A target that does not exist yet cannot hide a symlink below it.
 */
export function realTarget(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realTarget(parent), basename(abs));
  }
}

export class AllowedDirs {
  readonly roots: string[];
  constructor(dirs: string[]) {
    this.roots = dirs.map((d) => resolve(d));
  }

  /** the real target, or undefined when it lies outside every allowed directory (a symlink pointing out counts as outside) */
  check(path: string): string | undefined {
    const real = realTarget(path);
    // the roots are resolved now, not at start: an allowed directory created later is judged by where it really is
    return this.roots.some((root) => inside(real, realTarget(root))) ? real : undefined;
  }
}
