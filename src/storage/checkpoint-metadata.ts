// The `_metadata` file of a checkpoint or savepoint directory: written last and atomically, validated on load.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Packr } from 'msgpackr/pack';
import { loadNativeDecoding, packStateValue, valuePackr } from '../checkpoint/state-value-codec.ts';
import type { CompletedCheckpoint } from '../checkpoint/completed-checkpoint.ts';
import { CheckpointError } from '../errors.ts';
import { checksumOf, newChecksum, writeAtomic } from './durable-files.ts';
import { fileHandlesOf, mapFileHandles } from './state-handles.ts';

export const METADATA_FILE = '_metadata';
/** 2: the state value format (operator state keeps -0 and refuses functions); 1 (msgpackr records) still read */
export const METADATA_VERSION = 2;
const MAGIC = Buffer.from('FLOECKPT', 'latin1');
/** magic, u32 version, u32 payload length, payload, 32-byte sha256 of the payload */
const HEADER = MAGIC.length + 8;

/** Whether the file starts with the checkpoint magic (savepoints have their own). */
export function isCheckpointMetadataFile(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length);
    return readSync(fd, head, 0, MAGIC.length, 0) === MAGIC.length && head.equals(MAGIC);
  } finally {
    closeSync(fd);
  }
}
const TRAILER = 32;

// version 1's encoding: records kept plain objects and Maps apart, the structures inside the file
const version1 = new Packr({ structuredClone: true, moreTypes: true });

/** A file the metadata references, its path relative to the metadata's directory. */
export interface ReferencedFile {
  path: string;
  size: number;
  checksum: string;
}

interface MetadataPayload {
  checkpoint: CompletedCheckpoint;
  files: ReferencedFile[];
  writtenAt: number;
}

export interface LoadOptions {
  /** false: only check that referenced files exist with the right size (listing); default true */
  verifyChecksums?: boolean;
  /** a file whose content is already known good elsewhere (a verified task-local copy): its checksum is not re-read */
  trusted?: (absolutePath: string, checksum: string) => Promise<boolean>;
}

export interface LoadedMetadata {
  /** the checkpoint, every file handle's path absolute */
  checkpoint: CompletedCheckpoint;
  /** absolute paths of the referenced files */
  files: ReferencedFile[];
  writtenAt: number;
  /** bytes of `_metadata` itself */
  metadataSize: number;
}

/**
 * Writes `<dir>/_metadata` for `checkpoint`, atomically. File handle paths are stored relative to
 * `dir` (`op-0.state`, `../shared/x`) so the directory can be moved; relative handle paths in
 * `checkpoint` are resolved against `base` (the job's checkpoint directory), absolute ones kept.
 */
export async function writeMetadata(dir: string, checkpoint: CompletedCheckpoint, base: string = dir): Promise<void> {
  const files = new Map<string, ReferencedFile>();
  const stored = mapFileHandles(checkpoint, (p) => relative(dir, isAbsolute(p) ? p : join(base, p)));
  for (const h of fileHandlesOf(stored)) files.set(h.path, { path: h.path, size: h.size, checksum: h.checksum });
  const payload: MetadataPayload = { checkpoint: stored, files: [...files.values()], writtenAt: Date.now() };
  await writeAtomic(join(dir, METADATA_FILE), encodeMetadata(payload));
}

function encodeMetadata(payload: MetadataPayload): Uint8Array {
  const body = Buffer.from(packStateValue(payload, 'operator state in the checkpoint'));
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(METADATA_VERSION, MAGIC.length);
  header.writeUInt32BE(body.length, MAGIC.length + 4);
  return Buffer.concat([header, body, Buffer.from(checksumOf(body), 'hex')]);
}

function decodeMetadata(bytes: Buffer, file: string): MetadataPayload {
  const corrupt = (why: string) =>
    new CheckpointError('FLOE_CHECKPOINT_METADATA_CORRUPT', `${file} is damaged: ${why}`, {
      hint: 'restore from an older checkpoint of the job (floe checkpoints <dir> lists them)',
    });
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    throw corrupt('it is not a floe checkpoint metadata file');
  if (bytes.length < HEADER) throw corrupt(`only ${bytes.length} bytes (truncated)`);
  const version = bytes.readUInt32BE(MAGIC.length);
  if (version !== METADATA_VERSION && version !== 1) {
    throw new CheckpointError(
      'FLOE_CHECKPOINT_METADATA_VERSION',
      `${file} has format version ${version}; this floe reads versions 1 to ${METADATA_VERSION}`,
      {
        hint: 'restore it with the floe version that wrote it',
      },
    );
  }
  const length = bytes.readUInt32BE(MAGIC.length + 4);
  if (bytes.length !== HEADER + length + TRAILER)
    throw corrupt(`${bytes.length} bytes where ${HEADER + length + TRAILER} were written (truncated?)`);
  const body = bytes.subarray(HEADER, HEADER + length);
  if (checksumOf(body) !== bytes.subarray(HEADER + length).toString('hex')) throw corrupt('its checksum does not match its content');
  try {
    return (version === 1 ? version1 : valuePackr).unpack(body) as MetadataPayload;
  } catch (cause) {
    throw corrupt(`it cannot be decoded (${(cause as Error).message})`);
  }
}

async function fileChecksum(path: string): Promise<string> {
  const hash = newChecksum();
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest();
}

/**
 * Loads and validates the checkpoint (or savepoint) in `dir`: `_metadata` readable, of a known
 * version, and every file it references present with the right size and checksum. Each failure
 * has its own code. The returned handles carry absolute paths.
 */
export async function loadCheckpoint(dir: string, options: LoadOptions = {}): Promise<LoadedMetadata> {
  const root = resolve(dir);
  const file = join(root, METADATA_FILE);
  let bytes: Buffer;
  try {
    [bytes] = await Promise.all([readFile(file), loadNativeDecoding()]);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const dirExists = await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!dirExists) {
      throw new CheckpointError('FLOE_CHECKPOINT_NOT_FOUND', `no checkpoint directory at ${root}`, {
        cause,
        hint: 'pass a chk-<n> directory (or a savepoint directory) that holds a _metadata file',
      });
    }
    throw new CheckpointError(
      'FLOE_CHECKPOINT_METADATA_MISSING',
      `${file} cannot be read (${code ?? (cause as Error).message}): the checkpoint was never completed or was removed`,
      {
        cause,
        hint: 'restore from a directory that holds a _metadata file (floe checkpoints <dir> lists them)',
      },
    );
  }
  const payload = decodeMetadata(bytes, file);
  const absolute = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const files = payload.files.map((f) => ({ ...f, path: absolute(f.path) }));
  for (const f of files) {
    const info = await stat(f.path).catch(() => null);
    if (!info?.isFile()) {
      throw new CheckpointError('FLOE_CHECKPOINT_FILE_MISSING', `${f.path}, referenced by ${file}, is missing`, {
        hint: 'a state file was deleted: restore from another checkpoint',
      });
    }
    if (info.size !== f.size) {
      throw new CheckpointError('FLOE_CHECKPOINT_FILE_CORRUPT', `${f.path} has ${info.size} bytes, ${file} says ${f.size}`, {
        hint: 'the state file was truncated or changed: restore from another checkpoint',
      });
    }
    if (options.verifyChecksums === false || (await options.trusted?.(f.path, f.checksum))) continue;
    if ((await fileChecksum(f.path)) !== f.checksum) {
      throw new CheckpointError('FLOE_CHECKPOINT_FILE_CORRUPT', `${f.path} does not match its checksum in ${file}`, {
        hint: 'the state file was changed on disk: restore from another checkpoint',
      });
    }
  }
  return { checkpoint: mapFileHandles(payload.checkpoint, absolute), files, writtenAt: payload.writtenAt, metadataSize: bytes.length };
}
