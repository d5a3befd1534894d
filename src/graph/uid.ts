// Generated operator uids, derived from the topology so the same job gets the same uids every run.
import type { Transformation } from './transformation.ts';

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Gives every transformation without a uid one derived from its kind, name, position among its
 * siblings and its input's uid (as Flink's StreamGraphHasherV2 hashes the topology).
 * Returns the transformations that had no explicit uid.
 */
export function assignGeneratedUids(transformations: Transformation[]): Transformation[] {
  const generated: Transformation[] = [];
  const seen = new Map<string, number>();
  for (const t of transformations) {
    if (t.uid !== undefined) continue;
    const base = `${t.kind}|${t.name}|${t.input?.transformation.uid ?? ''}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    t.uid = `${t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${fnv1a(`${base}|${n}`)}`;
    generated.push(t);
  }
  return generated;
}
