// Timers in the level backend's LevelDB: a row per timer in its key group (the canonical map entry) and an index row by time outside every key group.
import type { Level } from 'level';
import { keyFromTag, keyGroupPrefix, keyTag, KEY_PREFIX_CHARS, statePrefix } from './level-key-codec.ts';
import type { LevelTable } from './level-slot.ts';
import { headTimer, TOP, type HeadTimer } from './level-timer-queue.ts';
import { decodeValue, encodeValue } from './level-value-codec.ts';
import type { SnapshotChunk } from './snapshot-codec.ts';
import { timeFromSortable, timerId, TIMERS_KEY } from './timer-rows.ts';
import type { KeyGroupRange } from './types.ts';

/**
 * Index rows sit under the largest key group prefix (2^21 - 1; key groups stay below 2^15), past
 * every key-group range a snapshot scans: `\x7f\x7f\x7f`, the state id, then the timer's sort key
 * (time, key group, key id), valued with the key.
 */
const INDEX_GROUP = (1 << 21) - 1;

type Db = Level<string, string>;
type DbSnapshot = ReturnType<Db['snapshot']>;

export const indexKeyPrefix = (stateId: number): string => statePrefix(INDEX_GROUP, stateId);

/** Every key below this is in a key group; index rows are not. */
export const INDEX_KEYS = keyGroupPrefix(INDEX_GROUP);

/** Up to `limit` timers of the index of state `stateId` after sort key `after`, in time order. */
export async function scanTimerIndex(db: Db, stateId: number, after: string, limit: number): Promise<HeadTimer[]> {
  const prefix = indexKeyPrefix(stateId);
  const entries = await db.iterator({ gt: prefix + after, lt: prefix + TOP, limit }).all();
  return entries.map(([k, v]): HeadTimer => {
    const sk = k.slice(KEY_PREFIX_CHARS);
    const ts = timeFromSortable(sk);
    const key = decodeValue(v);
    const keyGroup = (sk.charCodeAt(16) << 14) | (sk.charCodeAt(17) << 7) | sk.charCodeAt(18);
    return { ts, key, keyGroup, id: timerId(ts, key), sk };
  });
}

type Batch = ReturnType<Db['batch']>;

/** A restored chunk of a timer state: its map value (timer id → [ts, key]) becomes a row per timer. */
export function restoreTimerRows(batch: Batch, prefix: string, chunk: SnapshotChunk): void {
  for (const [key, value] of chunk.puts) {
    if (key !== TIMERS_KEY || !Array.isArray(value)) continue;
    for (const [id, timer] of value as Array<[string, [number, unknown]]>) batch.put(prefix + keyTag(id), encodeValue(timer));
  }
}

/**
 * After a restore: writes the index rows of a timer state's restored timers and returns how many
 * there are with the earliest `headSize` of them (what its queue starts with) and the greatest sort key.
 */
export async function timerIndexBound(
  db: Db,
  table: LevelTable,
  range: KeyGroupRange,
  headSize: number,
  batchSize: number,
): Promise<{ count: number; head: HeadTimer[]; bound: string; highest: string }> {
  const indexPrefix = indexKeyPrefix(table.id);
  const bySortKey = (a: HeadTimer, b: HeadTimer) => (a.sk < b.sk ? -1 : 1);
  let earliest: HeadTimer[] = [];
  let count = 0;
  let highest = '';
  let batch = db.batch();
  for (let kg = range.start; kg <= range.end; kg++) {
    const prefix = statePrefix(kg, table.id);
    for await (const [, v] of db.iterator({ gte: prefix, lt: statePrefix(kg, table.id + 1) })) {
      const [ts, key] = decodeValue(v) as [number, unknown];
      const t = headTimer(ts, key, kg);
      batch.put(indexPrefix + t.sk, encodeValue(key));
      count++;
      if (t.sk > highest) highest = t.sk;
      earliest.push(t);
      if (earliest.length >= 2 * headSize) earliest = earliest.sort(bySortKey).slice(0, headSize);
      if (batch.length >= batchSize) {
        await batch.write();
        batch = db.batch();
      }
    }
  }
  if (batch.length) await batch.write();
  else await batch.close();
  earliest.sort(bySortKey);
  if (earliest.length > headSize) earliest = earliest.slice(0, headSize);
  return { count, head: earliest, bound: count > headSize ? earliest[earliest.length - 1]!.sk : TOP, highest };
}

/**
 * The rows of one timer state in one key group at a snapshot, as the canonical chunk: one entry,
 * TIMERS_KEY → [[id, [ts, key]], ...] (a delete of it when there are none, in a delta).
 */
export async function timerChunk(
  db: Db,
  snap: DbSnapshot,
  table: LevelTable,
  keyGroup: number,
  delta: boolean,
): Promise<SnapshotChunk | null> {
  const entries: Array<[unknown, unknown]> = [];
  const it = db.iterator({ snapshot: snap, gte: statePrefix(keyGroup, table.id), lt: statePrefix(keyGroup, table.id + 1) });
  for await (const [k, v] of it) entries.push([keyFromTag(k.slice(KEY_PREFIX_CHARS)), decodeValue(v)]);
  if (entries.length > 0) return { keyGroup, state: table.name, puts: [[TIMERS_KEY, entries]] };
  return delta ? { keyGroup, state: table.name, puts: [], deletes: [TIMERS_KEY] } : null;
}
