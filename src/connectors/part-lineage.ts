// Which job's parts a FileSink directory holds: one hidden marker file per job lineage that committed there.
//
// A lineage is a job and every job restored from its checkpoints or savepoints (their outputs add up
// to one exactly-once result); it is named after the job id of its first, fresh run and travels in the
// sink's state. Before its first part is committed in a directory, a lineage leaves the empty file
// `.<prefix><suffix>.job-<id>` there. Part names and contents stay as they were: readers skip hidden
// files, and a directory without markers (older floe) reads as parts of unknown jobs.
import { closeSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parsePartName, type PartNaming } from './part-files.ts';

const MARKER = '.job-';

export function markerName({ prefix, suffix }: PartNaming, lineage: string): string {
  return `.${prefix}${suffix}${MARKER}${lineage}`;
}

/** The lineage a directory entry marks, or null if it is no marker of this naming. */
function markedLineage(naming: PartNaming, name: string): string | null {
  const start = `.${naming.prefix}${naming.suffix}${MARKER}`;
  return name.startsWith(start) && name.length > start.length ? name.slice(start.length) : null;
}

/** Leaves the lineage's marker in `dir` (idempotent: several subtasks may race to create it). */
export function markLineage(dir: string, naming: PartNaming, lineage: string): void {
  try {
    closeSync(openSync(join(dir, markerName(naming, lineage)), 'wx'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export interface DirectoryOwners {
  /** committed part files of this naming, sorted */
  parts: string[];
  /** other lineages that committed parts here; 'unknown' for parts with no marker at all */
  others: string[];
}

/**
 * Whose committed parts `dir` holds, seen from `lineage`. With no committed part left, the markers
 * are stale (the parts were deleted, the directory kept) and are removed, so they cannot make a later
 * restore of this lineage look like it shares the directory.
 */
export function directoryOwners(dir: string, naming: PartNaming, lineage: string): DirectoryOwners {
  const names = readdirSync(dir);
  const parts = names.filter((n) => parsePartName(naming, n)?.kind === 'final').sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const markers = names.flatMap((n) => {
    const marked = markedLineage(naming, n);
    return marked === null ? [] : [{ name: n, lineage: marked }];
  });
  if (parts.length === 0) {
    for (const m of markers) {
      try {
        unlinkSync(join(dir, m.name));
      } catch {
        // another subtask removed it first
      }
    }
    return { parts, others: [] };
  }
  const others = markers.filter((m) => m.lineage !== lineage).map((m) => m.lineage);
  if (!markers.some((m) => m.lineage === lineage) && others.length === 0) others.push('unknown');
  return { parts, others };
}
