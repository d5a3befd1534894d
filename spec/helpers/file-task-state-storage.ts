// A test double of file checkpoint storage: writes each snapshot part to a file (streamed), verifies a checksum on read, records what was written.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { CheckpointError } from '../../src/errors.ts';
import type { SnapshotScope, StateHandle, TaskStateStorage } from '../../src/backends/types.ts';

export interface WrittenPart {
  checkpointId: number;
  scope: SnapshotScope;
  path: string;
  size: number;
}

export class FileTaskStateStorage implements TaskStateStorage {
  readonly written: WrittenPart[] = [];
  #n = 0;

  constructor(readonly dir: string) {}

  async write(checkpointId: number, scope: SnapshotScope, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<StateHandle> {
    const path = scope === 'shared' ? `shared/${checkpointId}-${++this.#n}` : `chk-${checkpointId}/${++this.#n}`;
    mkdirSync(join(this.dir, path, '..'), { recursive: true });
    const out = createWriteStream(join(this.dir, path));
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of data instanceof Uint8Array ? [data] : data) {
      hash.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    this.written.push({ checkpointId, scope, path, size });
    return { type: 'file', path, size, checksum: hash.digest('hex') };
  }

  async read(handle: StateHandle): Promise<Uint8Array> {
    if (handle.type !== 'file') throw new TypeError(`file storage double reads file handles, not ${handle.type}`);
    const bytes = readFileSync(join(this.dir, handle.path));
    if (createHash('sha256').update(bytes).digest('hex') !== handle.checksum)
      throw new CheckpointError('FLOE_CHECKPOINT_FILE_CORRUPT', `${handle.path} is damaged`);
    return bytes;
  }

  /** Discards what a checkpoint wrote, as storage does with an aborted checkpoint's files. */
  discard(checkpointId: number): void {
    for (const w of this.written) if (w.checkpointId === checkpointId) rmSync(join(this.dir, w.path), { force: true });
  }

  bytesWritten(checkpointId: number): number {
    return this.written.filter((w) => w.checkpointId === checkpointId).reduce((n, w) => n + w.size, 0);
  }
}
