// Level snapshots as chunks of stored entries: a full scan of the key-group range at a LevelDB snapshot, or a delta's changed keys; and the one way keys are read by `getSync`.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Level } from 'level';
import type { SnapshotPlan } from './incremental-snapshots.ts';
import { LevelChangelog, UNKEPT } from './level-changelog.ts';
import { decodeKey, KEY_PREFIX_CHARS, keyFromTag, keyGroupPrefix } from './level-key-codec.ts';
import type { LevelTable } from './level-slot.ts';
import { timerChunk } from './level-timer-rows.ts';
import { decodeValue, VALUE_ENCODING } from './level-value-codec.ts';
import { CHUNK_ENTRIES, type SnapshotChunk, type StoredChunk } from './snapshot-codec.ts';
import { TIMERS_KEY } from './timer-rows.ts';
import type { KeyGroupRange } from './types.ts';

export type Db = Level<string, string>;
export type DbSnapshot = ReturnType<Db['snapshot']>;

/**
 * Entries one `nextv` of a full snapshot's scan reads (see fullChunks): many while the run loop is
 * busy (each read then waits for a turn of the event loop), few otherwise: a batch held across the
 * young generation's collections is copied and promoted, a third of an idle scan's time at 32k.
 */
const SCAN_ENTRIES_BUSY = 32_768;
const SCAN_ENTRIES_IDLE = 4096;
/** and bytes: classic-level's own iterator option, which the `level` typings (abstract-level's options) do not name */
const CLASSIC_SCAN_OPTIONS: { highWaterMarkBytes: number } = { highWaterMarkBytes: 2 << 20 };

/**
 * `getSync` of a key. classic-level writes string keys into one reused buffer and detects a key
 * that does not fit only when it fills the buffer exactly, which a multi-byte character can
 * miss (the key would be cut short): keys that could reach the buffer's end (its first size is
 * at least 64 bytes) and are not plain ASCII go as Buffers instead.
 */
export function getStored(db: Db, key: string, options?: { snapshot: DbSnapshot }): string | undefined {
  if (key.length > 21 && Buffer.byteLength(key) !== key.length) {
    return db.getSync(Buffer.from(key) as never, { keyEncoding: 'buffer', valueEncoding: VALUE_ENCODING, snapshot: options?.snapshot });
  }
  // encodings named by their formats: abstract-level then passes the options on without copying them
  return options ? db.getSync(key, { keyEncoding: 'utf8', valueEncoding: VALUE_ENCODING, snapshot: options.snapshot }) : db.getSync(key);
}

/**
 * Scans the key-group range at the snapshot: runs of one state in one key group become chunks.
 * Each `nextv` is a trip through libuv's thread pool that completes only when the event loop
 * comes round, and while records flow the run loop hands the event loop a turn once per slice
 * (src/actors/scheduler.ts, which the task layer asks through `runLoopBusy`): so the scan reads big
 * batches (classic-level stops a `nextv` at `highWaterMarkBytes`, 16 KiB by default, about 800 of
 * this backend's small entries) and asks for the next batch before it encodes the current one, so
 * that LevelDB reads while the encoder and the records run.
 */
export async function* fullChunks(
  db: Db,
  snap: DbSnapshot,
  range: KeyGroupRange,
  tables: LevelTable[],
  runLoopBusy: () => boolean,
  counts: { keys: number; chunks: number },
): AsyncGenerator<StoredChunk | SnapshotChunk> {
  const it = db.iterator({
    snapshot: snap,
    gte: keyGroupPrefix(range.start),
    lt: keyGroupPrefix(range.end + 1),
    ...CLASSIC_SCAN_OPTIONS,
  });
  let chunk: StoredChunk | null = null;
  let prefix = '';
  /** a timer state's rows in one key group, gathered into its one map value (see level-timer-rows.ts) */
  let timers: SnapshotChunk | null = null;
  let timerEntries: Array<[unknown, unknown]> = [];
  const batch = () => (runLoopBusy() ? SCAN_ENTRIES_BUSY : SCAN_ENTRIES_IDLE);
  let reading: Promise<Array<[string, string]>> | null = it.nextv(batch());
  try {
    for (;;) {
      const entries = await reading;
      reading = null;
      if (entries.length === 0) break;
      reading = it.nextv(batch());
      for (const [k, v] of entries) {
        if (timers) {
          if (k.startsWith(prefix)) {
            timerEntries.push([keyFromTag(k.slice(KEY_PREFIX_CHARS)), decodeValue(v)]);
            counts.keys++;
            continue;
          }
          yield timers;
          timers = null;
        }
        if (!chunk || !k.startsWith(prefix) || chunk.keys.length === CHUNK_ENTRIES) {
          if (chunk) yield chunk;
          chunk = null;
          const { keyGroup, stateId } = decodeKey(k);
          const table = tables[stateId]!;
          if (table.timers) {
            timerEntries = [[keyFromTag(k.slice(KEY_PREFIX_CHARS)), decodeValue(v)]];
            timers = { keyGroup, state: table.name, puts: [[TIMERS_KEY, timerEntries]] };
            prefix = k.slice(0, KEY_PREFIX_CHARS);
            counts.chunks++;
            counts.keys++;
            continue;
          }
          chunk = {
            keyGroup,
            state: tables[stateId]!.name,
            keys: [],
            keyOffset: KEY_PREFIX_CHARS,
            values: [],
            decodeKey: keyFromTag,
            decodeValue,
          };
          prefix = k.slice(0, KEY_PREFIX_CHARS);
          counts.chunks++;
        }
        // keys and values go to the encoder as stored: a string key or a scalar value is never decoded
        chunk.keys.push(k);
        chunk.values.push(v);
        counts.keys++;
      }
    }
    if (chunk) yield chunk;
    if (timers) yield timers;
  } finally {
    // a read still under way (the consumer stopped early) must end before the iterator closes
    await reading?.catch(() => {});
    await it.close();
  }
}

/** Every key changed since the confirmed chain, as it was at the snapshot: a put, or a delete if gone. */
export async function* deltaChunks(
  db: Db,
  snap: DbSnapshot,
  tables: LevelTable[],
  plan: Extract<SnapshotPlan<LevelChangelog>, { kind: 'delta' }>,
  counts: { keys: number; chunks: number },
): AsyncGenerator<StoredChunk | SnapshotChunk> {
  const changes = LevelChangelog.merge(plan.segments);
  // sorted, so chunks come out by key group and state like a full scan (the prefix is ASCII)
  const sorted = [...changes.keys()].sort();
  const at = { snapshot: snap };
  let chunk: StoredChunk | null = null;
  let deletes: string[] = [];
  let prefix = '';
  let budget = performance.now() + 4;
  for (let i = 0; i < sorted.length; i++) {
    const k = sorted[i]!;
    if (!chunk || !k.startsWith(prefix) || chunk.keys.length + deletes.length === CHUNK_ENTRIES) {
      if (chunk) yield chunk;
      chunk = null;
      const { keyGroup, stateId } = decodeKey(k);
      const table = tables[stateId]!;
      if (table.timers) {
        // a changed timer: the key group's whole map value as at the snapshot (a delta replaces a key's value)
        const group = k.slice(0, KEY_PREFIX_CHARS);
        while (i + 1 < sorted.length && sorted[i + 1]!.startsWith(group)) i++;
        const c = await timerChunk(db, snap, table, keyGroup, true);
        if (c) {
          counts.chunks++;
          counts.keys++;
          yield c;
        }
        continue;
      }
      deletes = [];
      chunk = {
        keyGroup,
        state: tables[stateId]!.name,
        keys: [],
        keyOffset: KEY_PREFIX_CHARS,
        values: [],
        deletes,
        decodeKey: keyFromTag,
        decodeValue,
      };
      prefix = k.slice(0, KEY_PREFIX_CHARS);
      counts.chunks++;
    }
    // the value the last flush before the snapshot wrote (what LevelDB holds at it), or read there if not kept
    const change = changes.get(k);
    const stored = change === UNKEPT ? getStored(db, k, at) : (change ?? undefined);
    // as stored, as in a full scan
    if (stored === undefined) deletes.push(k);
    else {
      chunk.keys.push(k);
      chunk.values.push(stored);
    }
    counts.keys++;
    if ((i & 255) === 255 && performance.now() > budget) {
      await yieldToLoop(); // a big delta must not block the run loop
      budget = performance.now() + 4;
    }
  }
  if (chunk) yield chunk;
}
