// Reading the state of a savepoint or a retained checkpoint offline: operators, state names and kinds, keyed entries.
import { readKeyedSnapshot, snapshotParts } from '../backends/keyed-snapshot-reader.ts';
import type { KeyedStateSnapshot, StateHandle, StateKind } from '../backends/types.ts';
import type { CompletedCheckpoint, OperatorState } from '../checkpoint/completed-checkpoint.ts';
import { SavepointError } from '../errors.ts';

/** What a restore path names: a savepoint, or a checkpoint a job retained. */
export type RestorePointKind = 'savepoint' | 'checkpoint';

export interface StateSummary {
  name: string;
  /** keyed kinds, or `operator-split` / `operator-union` for operator list state */
  kind: StateKind | 'operator-split' | 'operator-union';
  /** keys (keyed state) or list items (operator state) */
  keys: number;
  /** values, list elements and map entries counted one by one */
  entries: number;
}

export interface OperatorSummary {
  uid: string;
  parallelism: number;
  maxParallelism: number;
  /** bytes of keyed-state files */
  bytes: number;
  states: StateSummary[];
}

export interface KeyedEntry {
  state: string;
  kind: StateKind;
  keyGroup: number;
  key: unknown;
  value: unknown;
}

const entriesOf = (kind: StateKind, value: unknown) => (kind === 'list' || kind === 'map' ? (value as unknown[]).length : 1);

/** Bytes of a keyed-state handle: a file, inline bytes, or a chain of a full snapshot and its deltas. */
const handleBytes = (handle: StateHandle | null): number => (handle ? snapshotParts(handle).reduce((n, h) => n + h.size, 0) : 0);

/**
 * The state of a restore point as a restore reads it (a completed checkpoint, handles at absolute
 * paths), so savepoints and retained checkpoints are inspected through one reader, as Flink's
 * SavepointReader reads both.
 */
export class StateReader {
  protected constructor(
    readonly kind: RestorePointKind,
    /** the savepoint or `chk-<n>` directory, absolute */
    readonly path: string,
    readonly checkpoint: CompletedCheckpoint,
    /** reads one part of a keyed snapshot (a file or bytes handle), checked against its size and checksum */
    private readonly read: (handle: StateHandle) => Promise<Uint8Array>,
  ) {}

  get operatorUids(): string[] {
    return Object.keys(this.checkpoint.operators);
  }

  /** The state of operator `uid`; an unknown uid is refused, naming the ones there are. */
  protected operatorOf(uid: string): OperatorState {
    const op = this.checkpoint.operators[uid];
    if (!op) {
      throw new SavepointError('FLOE_SAVEPOINT_UNKNOWN_UID', `${this.kind} ${this.path} has no operator with uid '${uid}'`, {
        hint: `its operators are: ${this.operatorUids.join(', ')}`,
      });
    }
    return op;
  }

  /** The keyed snapshots of one operator, one per subtask that had keyed state. */
  async *#snapshots(uid: string): AsyncGenerator<KeyedStateSnapshot> {
    for (const subtask of this.operatorOf(uid).subtasks) {
      // a chain (a full snapshot and its deltas) is applied in order, as a restore applies it
      if (subtask?.keyed) yield await readKeyedSnapshot(subtask.keyed, { read: this.read });
    }
  }

  /** Keyed entries of operator `uid` (optionally one state), key group by key group. */
  async *keyedEntries(uid: string, stateName?: string): AsyncGenerator<KeyedEntry> {
    for await (const snap of this.#snapshots(uid)) {
      for (const group of snap.groups) {
        for (const [state, list] of Object.entries(group.entries)) {
          if (stateName !== undefined && state !== stateName) continue;
          for (const [key, value] of list) yield { state, kind: snap.states[state]!, keyGroup: group.keyGroup, key, value };
        }
      }
    }
  }

  /** Operator list state of `uid`: name -> items of every subtask. */
  operatorState(uid: string): Record<string, { mode: 'split' | 'union'; items: unknown[] }> {
    const out: Record<string, { mode: 'split' | 'union'; items: unknown[] }> = {};
    for (const subtask of this.operatorOf(uid).subtasks) {
      for (const [name, { mode, items }] of Object.entries(subtask?.operator ?? {})) {
        (out[name] ??= { mode, items: [] }).items.push(...items);
      }
    }
    return out;
  }

  /** Operators with uid, parallelism, states (names, kinds, key and entry counts) and bytes. */
  async operators(): Promise<OperatorSummary[]> {
    const result: OperatorSummary[] = [];
    for (const [uid, op] of Object.entries(this.checkpoint.operators)) {
      const states = new Map<string, StateSummary>();
      for (const [name, { mode, items }] of Object.entries(this.operatorState(uid))) {
        states.set(name, { name, kind: `operator-${mode}`, keys: items.length, entries: items.length });
      }
      for await (const snap of this.#snapshots(uid)) {
        for (const [name, kind] of Object.entries(snap.states))
          if (!states.has(name)) states.set(name, { name, kind, keys: 0, entries: 0 });
        for (const group of snap.groups) {
          for (const [name, list] of Object.entries(group.entries)) {
            const s = states.get(name)!;
            s.keys += list.length;
            for (const [, value] of list) s.entries += entriesOf(snap.states[name]!, value);
          }
        }
      }
      const bytes = op.subtasks.reduce((n, s) => n + handleBytes(s?.keyed ?? null), 0);
      result.push({
        uid,
        parallelism: op.parallelism,
        maxParallelism: this.checkpoint.maxParallelism,
        bytes,
        states: [...states.values()],
      });
    }
    return result;
  }
}
