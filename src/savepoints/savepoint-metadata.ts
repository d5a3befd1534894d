// The savepoint `_metadata` file: magic, format version, operators by uid, relative state-file references, checksum.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packStateValue, valuePackr } from '../checkpoint/state-value-codec.ts';
import type { OperatorStateSnapshot } from '../backends/types.ts';
import { SavepointError } from '../errors.ts';
import { writeAtomic } from '../storage/durable-files.ts';

export const METADATA_FILE = '_metadata';
/**
 * 2: the state value format (a Map in operator state is a Map again, -0 kept). Version 1 wrote Maps
 * as MessagePack maps, read back as plain objects (keys 1 and '1' collapsed): its files still read,
 * with what they hold. 3: a keyed-state file may carry `deltas` (written only then: version 2 readers would
 * restore the base without them, so they must refuse it).
 */
export const SAVEPOINT_FORMAT_VERSION = 3;
const READABLE_VERSIONS = [1, 2, 3];

/** The version a savepoint of `operators` is written with: 2 unless a keyed-state file has deltas, so older floe still reads it. */
export function formatVersionFor(operators: Record<string, SavepointOperator>): number {
  for (const op of Object.values(operators)) for (const s of op.subtasks) if (s.keyed?.deltas?.length) return 3;
  return 2;
}
/** the first bytes of every savepoint `_metadata`; a checkpoint's `_metadata` (or anything else) does not start with them */
const MAGIC = Buffer.from('FLOESAVE', 'ascii');
const HEADER = MAGIC.length + 2;
const CHECKSUM = 32;

/** A keyed-state file of one operator subtask: path relative to the savepoint directory. */
export interface KeyedFileRef {
  path: string;
  size: number;
  /** sha256 of the file, hex */
  checksum: string;
  /**
   * Delta snapshots (canonical format too) applied in order on top of this full one: a savepoint of an
   * incremental backend copies its checkpoint chain instead of decoding and re-encoding every key.
   */
  deltas?: Array<Omit<KeyedFileRef, 'deltas'>>;
}

/** The files of a keyed-state reference, the full snapshot first. */
export const keyedFiles = (ref: KeyedFileRef): Array<Omit<KeyedFileRef, 'deltas'>> => [ref, ...(ref.deltas ?? [])];
/** Bytes of a keyed-state reference, deltas included. */
export const keyedBytes = (ref: KeyedFileRef | null): number => (ref ? keyedFiles(ref).reduce((n, f) => n + f.size, 0) : 0);

export interface SavepointSubtask {
  operator: OperatorStateSnapshot;
  keyed: KeyedFileRef | null;
}

export interface SavepointOperator {
  parallelism: number;
  maxParallelism: number;
  /** indexed by subtask */
  subtasks: SavepointSubtask[];
}

export interface SavepointMetadata {
  version: number;
  jobId: string;
  jobName: string;
  /** the checkpoint id the savepoint was taken as; a restored job continues after it */
  checkpointId: number;
  timestamp: number;
  maxParallelism: number;
  /** operator uid -> state */
  operators: Record<string, SavepointOperator>;
  /** taken by stop --drain: every source had ended its input (an end state, not a place to resume) */
  drained?: boolean;
}

/** magic, version (uint16 BE), msgpack body, sha256 of the body: a truncated or edited file is detected, not misread */
export function encodeMetadata(metadata: SavepointMetadata): Buffer {
  const body = Buffer.from(packStateValue(metadata, 'operator state in the savepoint'));
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header);
  header.writeUInt16BE(metadata.version, MAGIC.length);
  return Buffer.concat([header, body, createHash('sha256').update(body).digest()]);
}

export function decodeMetadata(bytes: Buffer, where: string): SavepointMetadata {
  const corrupt = (why: string, cause?: unknown) =>
    new SavepointError('FLOE_SAVEPOINT_METADATA_CORRUPT', `${where} is damaged: ${why}`, {
      cause,
      hint: 'the savepoint was truncated or changed after it was written; restore from another savepoint or checkpoint',
    });
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SavepointError('FLOE_NOT_A_SAVEPOINT', `${where} is not a floe savepoint's _metadata`, {
      hint: 'pass the directory of a savepoint (savepoint-<job>-<id>/), as printed by `floe savepoint` or `floe stop`',
    });
  }
  if (bytes.length < HEADER + CHECKSUM) throw corrupt(`only ${bytes.length} bytes`);
  const version = bytes.readUInt16BE(MAGIC.length);
  if (!READABLE_VERSIONS.includes(version)) {
    throw new SavepointError(
      'FLOE_SAVEPOINT_VERSION_UNSUPPORTED',
      `${where} has savepoint format version ${version}; this floe reads versions ${READABLE_VERSIONS.join(' and ')}`,
      {
        hint: 'restore it with the floe version that wrote it',
      },
    );
  }
  const body = bytes.subarray(HEADER, bytes.length - CHECKSUM);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(bytes.subarray(bytes.length - CHECKSUM))
  )
    throw corrupt('checksum mismatch');
  let value: SavepointMetadata;
  try {
    value = valuePackr.unpack(body) as SavepointMetadata; // reads version 1 too (a superset of its encoding)
  } catch (cause) {
    throw corrupt((cause as Error).message, cause);
  }
  if (!value || typeof value !== 'object' || typeof value.operators !== 'object' || value.version !== version)
    throw corrupt('unexpected content');
  return value;
}

/** Writes `_metadata` last and atomically (temp file, fsync, rename, directory fsync): until it exists the directory is no savepoint. */
export async function writeMetadataFile(dir: string, metadata: SavepointMetadata): Promise<void> {
  await writeAtomic(join(dir, METADATA_FILE), encodeMetadata(metadata));
}

export function readMetadataFile(dir: string): SavepointMetadata {
  const file = join(dir, METADATA_FILE);
  return decodeMetadata(readFileSync(file), file);
}
