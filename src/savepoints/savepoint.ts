// Savepoint: the offline read API (operators, state names and kinds, keyed entries) plus rename-uid and dispose.
import { cp, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SavepointError } from '../errors.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import type { SavepointMetadata } from './savepoint-metadata.ts';
import { readVerified } from './savepoint-storage.ts';
import { StateReader } from './state-reader.ts';

// loaded by the operations that read or write a savepoint's _metadata: importing floe (which exports Savepoint) skips them
const loader = () => import('./savepoint-loader.ts');
const metadataFiles = () => import('./savepoint-metadata.ts');

export type { KeyedEntry, OperatorSummary, StateSummary } from './state-reader.ts';

/** A savepoint directory read offline (its state through StateReader), repaired (rename-uid) or disposed. */
export class Savepoint extends StateReader {
  private constructor(
    path: string,
    readonly metadata: SavepointMetadata,
    checkpoint: CompletedCheckpoint,
  ) {
    super('savepoint', path, checkpoint, readVerified);
  }

  /** Opens a savepoint after verifying `_metadata` and every state file's checksum. */
  static async load(path: string): Promise<Savepoint> {
    const { loadSavepoint, savepointCheckpoint } = await loader();
    const { dir, metadata } = await loadSavepoint(path);
    return new Savepoint(dir, metadata, savepointCheckpoint({ dir, metadata }));
  }

  /** Copies the savepoint to `output` with operator `from` renamed to `to` (the original stays as it is). */
  async renameUid(from: string, to: string, output: string): Promise<Savepoint> {
    this.operatorOf(from);
    const { formatVersionFor, METADATA_FILE, writeMetadataFile } = await metadataFiles();
    const op = this.metadata.operators[from]!;
    if (this.metadata.operators[to]) {
      throw new SavepointError('FLOE_SAVEPOINT_UID_TAKEN', `savepoint ${this.path} already has an operator with uid '${to}'`, {
        hint: 'pick a uid the savepoint does not use yet',
      });
    }
    const target = resolve(output);
    if (existsSync(target) && (await readdir(target)).length > 0) {
      throw new SavepointError('FLOE_SAVEPOINT_OUTPUT_EXISTS', `${target} exists and is not empty`, {
        hint: 'pass --output a new directory',
      });
    }
    await cp(this.path, target, { recursive: true, filter: (src) => !src.endsWith(`/${METADATA_FILE}`) });
    const operators: SavepointMetadata['operators'] = {};
    for (const [uid, state] of Object.entries(this.metadata.operators)) operators[uid === from ? to : uid] = uid === from ? op : state;
    await writeMetadataFile(target, { ...this.metadata, version: formatVersionFor(operators), operators });
    return Savepoint.load(target);
  }

  /** Deletes a savepoint directory; refuses anything whose `_metadata` is not a savepoint's. */
  static async dispose(path: string): Promise<string> {
    const { dir } = (await loader()).readSavepointMetadata(path);
    await rm(dir, { recursive: true });
    return dir;
  }
}
