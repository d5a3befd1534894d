// Savepoint: the offline read API (operators, state names and kinds, keyed entries) plus rename-uid and dispose.
import { cp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readKeyedSnapshot } from '../backends/keyed-snapshot-reader.ts';
import type { KeyedStateSnapshot, StateKind } from '../backends/types.ts';
import { SavepointError } from '../errors.ts';
import { keyedHandle, loadSavepoint, readSavepointMetadata } from './savepoint-loader.ts';
import { formatVersionFor, keyedBytes, METADATA_FILE, writeMetadataFile, type SavepointMetadata } from './savepoint-metadata.ts';
import { readVerified } from './savepoint-storage.ts';

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

export class Savepoint {
  private constructor(readonly path: string, readonly metadata: SavepointMetadata) {}

  /** Opens a savepoint after verifying `_metadata` and every state file's checksum. */
  static async load(path: string): Promise<Savepoint> {
    const { dir, metadata } = await loadSavepoint(path);
    return new Savepoint(dir, metadata);
  }

  get operatorUids(): string[] {
    return Object.keys(this.metadata.operators);
  }

  #operator(uid: string) {
    const op = this.metadata.operators[uid];
    if (!op) {
      throw new SavepointError('FLOE_SAVEPOINT_UNKNOWN_UID', `savepoint ${this.path} has no operator with uid '${uid}'`, {
        hint: `its operators are: ${this.operatorUids.join(', ')}`,
      });
    }
    return op;
  }

  /** The keyed snapshots of one operator, one per subtask that had keyed state. */
  async *#snapshots(uid: string): AsyncGenerator<KeyedStateSnapshot> {
    for (const subtask of this.#operator(uid).subtasks) {
      // a chain (a full file and its deltas) is applied in order, as a restore applies it
      if (subtask.keyed) yield await readKeyedSnapshot(keyedHandle(this.path, subtask.keyed), { read: readVerified });
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
    for (const subtask of this.#operator(uid).subtasks) {
      for (const [name, { mode, items }] of Object.entries(subtask.operator)) {
        (out[name] ??= { mode, items: [] }).items.push(...items);
      }
    }
    return out;
  }

  /** Operators with uid, parallelism, states (names, kinds, key and entry counts) and bytes. */
  async operators(): Promise<OperatorSummary[]> {
    const result: OperatorSummary[] = [];
    for (const [uid, op] of Object.entries(this.metadata.operators)) {
      const states = new Map<string, StateSummary>();
      for (const [name, { mode, items }] of Object.entries(this.operatorState(uid))) {
        states.set(name, { name, kind: `operator-${mode}`, keys: items.length, entries: items.length });
      }
      for await (const snap of this.#snapshots(uid)) {
        for (const [name, kind] of Object.entries(snap.states)) if (!states.has(name)) states.set(name, { name, kind, keys: 0, entries: 0 });
        for (const group of snap.groups) {
          for (const [name, list] of Object.entries(group.entries)) {
            const s = states.get(name)!;
            s.keys += list.length;
            for (const [, value] of list) s.entries += entriesOf(snap.states[name]!, value);
          }
        }
      }
      const bytes = op.subtasks.reduce((n, s) => n + keyedBytes(s.keyed), 0);
      result.push({ uid, parallelism: op.parallelism, maxParallelism: op.maxParallelism, bytes, states: [...states.values()] });
    }
    return result;
  }

  /** Copies the savepoint to `output` with operator `from` renamed to `to` (the original stays as it is). */
  async renameUid(from: string, to: string, output: string): Promise<Savepoint> {
    const op = this.#operator(from);
    if (this.metadata.operators[to]) {
      throw new SavepointError('FLOE_SAVEPOINT_UID_TAKEN', `savepoint ${this.path} already has an operator with uid '${to}'`, {
        hint: 'pick a uid the savepoint does not use yet',
      });
    }
    const target = resolve(output);
    if (existsSync(target) && (await readdir(target)).length > 0) {
      throw new SavepointError('FLOE_SAVEPOINT_OUTPUT_EXISTS', `${target} exists and is not empty`, { hint: 'pass --output a new directory' });
    }
    await cp(this.path, target, { recursive: true, filter: (src) => !src.endsWith(`/${METADATA_FILE}`) });
    const operators: SavepointMetadata['operators'] = {};
    for (const [uid, state] of Object.entries(this.metadata.operators)) operators[uid === from ? to : uid] = uid === from ? op : state;
    await writeMetadataFile(target, { ...this.metadata, version: formatVersionFor(operators), operators });
    return Savepoint.load(target);
  }

  /** Deletes a savepoint directory; refuses anything whose `_metadata` is not a savepoint's. */
  static async dispose(path: string): Promise<string> {
    const { dir } = readSavepointMetadata(path);
    await rm(dir, { recursive: true });
    return dir;
  }
}
