// Finding and rewriting the file handles anywhere inside a completed checkpoint (keyed state, incremental parts, later channel state).
import type { StateHandle } from '../backends/types.ts';

export type FileHandle = Extract<StateHandle, { type: 'file' }>;

/** A file handle has exactly this shape; anything else (user operator state included) is left alone. */
export function isFileHandle(value: unknown): value is FileHandle {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false;
  const v = value as Record<string, unknown>;
  return (
    v.type === 'file' &&
    typeof v.path === 'string' &&
    typeof v.size === 'number' &&
    typeof v.checksum === 'string' &&
    Object.keys(v).length === 4
  );
}

/** Every file handle reachable from `value` (generic, so fields other parts add later are covered too). */
export function fileHandlesOf(value: unknown, out: FileHandle[] = []): FileHandle[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if (isFileHandle(value)) {
    out.push(value);
    return out;
  }
  if (value instanceof Map) {
    for (const v of value.values()) fileHandlesOf(v, out);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) fileHandlesOf(v, out);
  return out;
}

/** A deep copy of `value` with every file handle's path passed through `rewrite`; other values are shared, not copied. */
export function mapFileHandles<T>(value: T, rewrite: (path: string) => string): T {
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array || v instanceof Map || v instanceof Set || v instanceof Date)
      return v;
    if (isFileHandle(v)) return { ...v, path: rewrite(v.path) };
    if (Array.isArray(v)) return v.map(walk);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    return out;
  };
  return walk(value) as T;
}
