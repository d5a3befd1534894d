// Keeps snapshot bytes in memory, with the coordinator (Flink's JobManagerCheckpointStorage), capped per snapshot.
import { isAbsolute } from 'node:path';
import type { SnapshotScope, StateHandle, TaskStateStorage } from '../backends/types.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { loadNativeDecoding } from '../checkpoint/state-value-codec.ts';
import { CheckpointError } from '../errors.ts';
import { readStateFile } from './read-state-file.ts';
import type { CheckpointStorage } from './types.ts';

export const DEFAULT_MAX_SNAPSHOT_SIZE = 5 * 1024 * 1024;

async function collect(data: Uint8Array | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  const chunks: Uint8Array[] = [];
  for await (const c of data) chunks.push(c);
  return Buffer.concat(chunks);
}

export class MemoryCheckpointStorage implements CheckpointStorage {
  readonly name = 'memory';
  readonly maxSnapshotSize: number;
  readonly numRetained: number;
  /** retained checkpoints, oldest first */
  readonly #retained: CompletedCheckpoint[] = [];

  constructor(options: { maxSnapshotSize?: number; numRetained?: number } = {}) {
    this.maxSnapshotSize = options.maxSnapshotSize ?? DEFAULT_MAX_SNAPSHOT_SIZE;
    this.numRetained = options.numRetained ?? 1;
  }

  forSubtask(operatorUid: string, subtaskIndex: number): TaskStateStorage {
    const cap = this.maxSnapshotSize;
    return {
      async write(_checkpointId: number, _scope: SnapshotScope, data): Promise<StateHandle> {
        const bytes = await collect(data);
        if (bytes.length > cap) {
          throw new CheckpointError(
            'FLOE_STATE_TOO_LARGE',
            `the keyed state of '${operatorUid}' (subtask ${subtaskIndex}) is ${bytes.length} bytes, over the memory backend's cap of ${cap} bytes`,
            { hint: 'use the fs or level backend (--state-backend), or raise state.backend.memory.max-snapshot-size' },
          );
        }
        return { type: 'bytes', bytes, size: bytes.length };
      },
      async read(handle: StateHandle): Promise<Uint8Array> {
        await loadNativeDecoding(); // what is read is decoded next (a restore)
        if (handle.type === 'bytes') return handle.bytes;
        // a checkpoint or savepoint loaded from disk carries absolute paths: a job on the memory backend may restore it
        if (handle.type === 'file' && isAbsolute(handle.path)) return readStateFile(handle.path, handle.size, handle.checksum);
        throw new CheckpointError('FLOE_UNSUPPORTED_HANDLE', `memory checkpoint storage cannot read a ${handle.type} state handle`, {
          hint: 'restore file-based checkpoints with the fs or level backend and state.checkpoints.dir set',
        });
      },
    };
  }

  async persist(checkpoint: CompletedCheckpoint): Promise<void> {
    if (checkpoint.kind !== 'checkpoint') return;
    this.#retained.push(checkpoint);
    while (this.#retained.length > this.numRetained) this.#retained.shift();
  }

  async discard(): Promise<void> {
    // nothing half-written is kept in memory; a persisted checkpoint stays a valid restore point
  }

  async restorePoint(): Promise<CompletedCheckpoint | null> {
    return this.#retained.at(-1) ?? null;
  }

  async shutdown(): Promise<void> {
    this.#retained.length = 0;
  }
}
