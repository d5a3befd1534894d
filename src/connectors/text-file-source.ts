// readTextFile(path): the lines of a file, cut into byte-range splits that resume exactly after a restore.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ListState, OperatorStateSnapshot } from '../backends/types.ts';
import { JobDefinitionError } from '../errors.ts';
import type { OperatorContext, Output, PollResult, ReaderOutput, Source, SourceReader } from '../operators/operator.ts';

/**
 * A byte range [start, end) of a file. It owns the lines that START inside it (Hadoop's line-reader
 * rule), so every line is read exactly once however the file is cut. `offset` is where the next
 * unread line starts, or `start` before the split is begun.
 */
export interface TextFileSplit {
  path: string;
  start: number;
  end: number;
  offset: number;
}

const CHUNK = 64 * 1024;

const NEWLINE = 10;
const CR = 13;

/**
 * Decodes bytes [from, to) of a buffer as UTF-8: Buffer's own `utf8Slice` where Node has it (every
 * version floe supports), which skips `toString`'s argument handling, a twentieth of a word count's
 * time at one call per line; `toString` otherwise.
 */
type Utf8Slicer = (this: Buffer, from: number, to: number) => string;
const utf8Slice: Utf8Slicer =
  (Buffer.prototype as unknown as { utf8Slice?: Utf8Slicer }).utf8Slice ??
  function (this: Buffer, from: number, to: number) {
    return this.toString('utf8', from, to);
  };

export class TextFileSource implements Source<string> {
  readonly name: string;
  /** absolute, so a job started elsewhere (or a restored split) still names the same file */
  readonly path: string;

  constructor(path: string) {
    if (typeof path !== 'string' || path === '') throw new TypeError('readTextFile needs a file path');
    this.path = resolve(path);
    this.name = `TextFile(${this.path})`;
  }

  validate(): void {
    checkReadableFile(this.path);
  }

  /** A restored reader goes on in the files its splits name (as Flink's file source): say so when that is not `path`. */
  restoreWarnings(state: OperatorStateSnapshot[], uid: string): string[] {
    const named = new Set(state.flatMap((s) => (s['splits']?.items ?? []) as TextFileSplit[]).map((split) => split.path));
    named.delete(this.path);
    return [...named].map(
      (other) =>
        `source '${uid}' goes on reading ${other}, the file its restored read position names, not ${this.path}, the file the job names`,
    );
  }

  createReader(): SourceReader<string> {
    return new TextFileReader(this.path);
  }
}

/** Throws FLOE_SOURCE_FILE_NOT_FOUND unless `path` is a readable regular file; returns its size. */
function checkReadableFile(path: string): number {
  let problem: string;
  let cause: unknown;
  try {
    const stat = statSync(path);
    if (stat.isFile()) {
      accessSync(path, constants.R_OK);
      return stat.size;
    }
    problem = 'is not a regular file';
  } catch (error) {
    cause = error;
    problem = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
  }
  throw new JobDefinitionError('FLOE_SOURCE_FILE_NOT_FOUND', `input file ${path} ${problem}`, {
    cause,
    hint: `check the path given to readTextFile (relative paths are resolved against ${process.cwd()}) and its permissions`,
  });
}

/** Split i of p: the i-th of p near-equal byte ranges of the file. */
export function textFileSplit(path: string, size: number, subtaskIndex: number, parallelism: number): TextFileSplit {
  const start = Math.floor((subtaskIndex * size) / parallelism);
  const end = Math.floor(((subtaskIndex + 1) * size) / parallelism);
  return { path, start, end, offset: start };
}

/** The split's id for its output: the file and where the split starts. */
function splitId(split: TextFileSplit): string {
  return `${split.path}@${split.start}`;
}

class TextFileReader implements SourceReader<string> {
  #state!: ListState<TextFileSplit>;
  /** splits in reading order; the first one is being read once `#begun` */
  #splits: TextFileSplit[] = [];
  #begun = false;
  /** the begun split's own output, where the reader's output gives one (per-split watermarks) */
  #out: Output<string> | null = null;
  #fd = -1;
  #fdPath = '';
  /** holds file bytes [#bufPos, #bufPos + #data.length); grows only for a line longer than it */
  #buf = Buffer.allocUnsafe(CHUNK);
  /** the filled part of #buf (a view, renewed once per read, so indexOf never sees stale bytes) */
  #data = this.#buf.subarray(0, 0);
  #bufPos = 0;
  /** index in #data of the next unread line */
  #cursor = 0;

  constructor(readonly path: string) {}

  open(context: OperatorContext): void {
    // split state: on a rescaled restore the unfinished splits are redistributed among the new subtasks
    this.#state = context.operatorState.getListState<TextFileSplit>('splits');
    if (context.restoredCheckpointId === null) {
      const size = checkReadableFile(this.path);
      this.#splits = [textFileSplit(this.path, size, context.subtaskIndex, context.parallelism)];
    } else {
      this.#splits = this.#state.get().map((s) => ({ path: s.path, start: s.start, end: s.end, offset: s.offset }));
    }
    if (this.#splits.length > 0) this.#openFile(this.#splits[0]!.path);
  }

  poll(output: ReaderOutput<string>, max: number): PollResult {
    let emitted = 0;
    let out = this.#out ?? output;
    while (emitted < max) {
      const split = this.#splits[0];
      if (!split) return 'end';
      if (!this.#begun) {
        if (split.offset >= split.end || !this.#begin(split)) {
          this.#finishSplit(output);
          continue;
        }
        // per-split watermarks (fromSource with a strategy): each split is read from its start in event time
        this.#out = output.forSplit?.(splitId(split)) ?? null;
        out = this.#out ?? output;
      }
      const lineStart = this.#cursor;
      if (this.#bufPos + lineStart >= split.end) {
        this.#finishSplit(output);
        continue;
      }
      const nl = this.#nextNewline();
      // #nextNewline may have moved the unread bytes to the front of the buffer
      const from = this.#cursor;
      const data = this.#data;
      let lineEnd: number;
      if (nl === -1) {
        // end of file: the rest is a last line without '\n', or nothing at all
        if (from === data.length) {
          this.#finishSplit(output);
          continue;
        }
        lineEnd = data.length;
        this.#cursor = data.length;
      } else {
        lineEnd = nl;
        this.#cursor = nl + 1;
      }
      if (lineEnd > from && data[lineEnd - 1] === CR) lineEnd--;
      out.collect(utf8Slice.call(data, from, lineEnd));
      emitted++;
    }
    return 'more';
  }

  snapshotState(): void {
    const splits = this.#splits.map((s) => ({ path: s.path, start: s.start, end: s.end, offset: s.offset }));
    if (this.#begun && splits.length > 0) splits[0]!.offset = this.#bufPos + this.#cursor;
    this.#state.update(splits);
  }

  close(): void {
    this.#closeFile();
  }

  /**
   * Positions the reader at the first line the split owns: the line starting at `offset` if the byte
   * before it is '\n' (or offset is 0), else the line after the next '\n'. An offset saved by a
   * checkpoint is always a line start, so beginning there again skips nothing.
   */
  #begin(split: TextFileSplit): boolean {
    if (split.path !== this.#fdPath) this.#openFile(split.path);
    this.#begun = true;
    this.#data = this.#buf.subarray(0, 0);
    this.#cursor = 0;
    if (split.offset === 0) {
      this.#bufPos = 0;
      return true;
    }
    this.#bufPos = split.offset - 1;
    const nl = this.#nextNewline();
    if (nl === -1) return false; // no line starts at or after offset
    this.#cursor = nl + 1;
    return true;
  }

  #finishSplit(output: ReaderOutput<string>): void {
    const split = this.#splits.shift();
    this.#begun = false;
    if (this.#out && split) output.releaseSplit?.(splitId(split));
    this.#out = null;
  }

  /** Index in #data of the next '\n' at or after #cursor, reading more of the file as needed; -1 at end of file. */
  #nextNewline(): number {
    let from = this.#cursor;
    for (;;) {
      const i = this.#data.indexOf(NEWLINE, from);
      if (i !== -1) return i;
      const searched = this.#data.length - this.#cursor;
      if (!this.#fill()) return -1;
      from = this.#cursor + searched;
    }
  }

  /** Keeps the unread bytes (moved to the front), reads the next chunk after them; false at end of file. */
  #fill(): boolean {
    const keep = this.#data.length - this.#cursor;
    if (this.#cursor > 0) {
      this.#buf.copyWithin(0, this.#cursor, this.#data.length);
      this.#bufPos += this.#cursor;
      this.#cursor = 0;
    }
    if (keep === this.#buf.length) {
      // one line fills the whole buffer: grow it (rare, only for lines longer than a chunk)
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, 0, keep);
      this.#buf = bigger;
    }
    const n = readSync(this.#fd, this.#buf, keep, this.#buf.length - keep, this.#bufPos + keep);
    this.#data = this.#buf.subarray(0, keep + n);
    return n > 0;
  }

  #openFile(path: string): void {
    this.#closeFile();
    try {
      this.#fd = openSync(path, 'r');
    } catch (error) {
      checkReadableFile(path); // throws the user-facing error for a missing or unreadable file
      throw error;
    }
    this.#fdPath = path;
  }

  #closeFile(): void {
    if (this.#fd === -1) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#fdPath = '';
    try {
      closeSync(fd);
    } catch {
      // close must not throw: the task may be tearing down after another failure
    }
  }
}
