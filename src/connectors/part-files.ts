// Part file names of the FileSink: visible committed parts and the hidden files of open transactions.

export interface PartNaming {
  prefix: string;
  suffix: string;
}

/**
 * `part-<subtask>-<n>` is committed; `.part-<subtask>-<n>.inprogress` is being written (aborted if the
 * task dies); `.part-<subtask>-<n>.pending-<checkpoint>` is pre-committed at that checkpoint. The
 * checkpoint id in the name lets a restored subtask tell which hidden files belong to transactions
 * after the restored checkpoint (to delete) without knowing the other subtasks' state.
 */
export function partNames({ prefix, suffix }: PartNaming) {
  return {
    final: (subtask: number, part: number): string => `${prefix}-${subtask}-${part}${suffix}`,
    inProgress: (final: string): string => `.${final}.inprogress`,
    pending: (final: string, checkpointId: number): string => `.${final}.pending-${checkpointId}`,
  };
}

export type PartFile =
  | { kind: 'final' | 'in-progress'; subtask: number; part: number }
  | { kind: 'pending'; subtask: number; part: number; checkpointId: number };

const patterns = new Map<string, RegExp>();

function pattern({ prefix, suffix }: PartNaming): RegExp {
  const key = `${prefix}\0${suffix}`;
  let re = patterns.get(key);
  if (!re) {
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = new RegExp(
      `^(?:(${esc(prefix)}-(\\d+)-(\\d+)${esc(suffix)})|\\.${esc(prefix)}-(\\d+)-(\\d+)${esc(suffix)}\\.(?:(inprogress)|pending-(\\d+)))$`,
    );
    patterns.set(key, re);
  }
  return re;
}

/** What a directory entry is to the sink, or null if it is not one of its files. */
export function parsePartName(naming: PartNaming, name: string): PartFile | null {
  const m = pattern(naming).exec(name);
  if (!m) return null;
  if (m[1] !== undefined) return { kind: 'final', subtask: Number(m[2]), part: Number(m[3]) };
  const subtask = Number(m[4]);
  const part = Number(m[5]);
  if (m[6] !== undefined) return { kind: 'in-progress', subtask, part };
  return { kind: 'pending', subtask, part, checkpointId: Number(m[7]) };
}
