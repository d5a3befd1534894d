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

/**
 * Bytes of whole lines decoded at once (at least one line). Lines are slices of that string, and V8 keeps
 * the whole string alive as long as any slice of it (or of a line) lives: a line kept in state holds on to
 * at most this much, where decoding the whole chunk would pin 64 KiB per kept line.
 */
const DECODE_WINDOW = 1024;

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
  /** the end of the file was read */
  #eof = false;
  /**
   * The lines being read, decoded as one string: whole lines the split owns within DECODE_WINDOW bytes ('\n'-ended,
   * but for a file's last). One decode per window instead of one per line, as each call has its cost and V8's UTF-8
   * decoder scans its input twice. Lines are slices of it.
   */
  #text = '';
  /** index in #text of the next unread line */
  #cursor = 0;
  /** where #text's bytes are in #data: [#textFrom, #textTo); #textTo is also where the undecoded bytes start */
  #textFrom = 0;
  #textTo = 0;

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
      if (this.#cursor >= this.#text.length && !this.#decodeNext(split)) {
        this.#finishSplit(output);
        continue;
      }
      const text = this.#text;
      let c = this.#cursor;
      while (emitted < max && c < text.length) {
        let end = text.indexOf('\n', c);
        const next = end === -1 ? (end = text.length) : end + 1;
        if (end > c && text.charCodeAt(end - 1) === CR) end--;
        // #cursor moves before the line goes out: a checkpoint never sees a line both read and unread
        this.#cursor = next;
        out.collect(text.slice(c, end));
        c = next;
        emitted++;
      }
    }
    return 'more';
  }

  snapshotState(): void {
    const splits = this.#splits.map((s) => ({ path: s.path, start: s.start, end: s.end, offset: s.offset }));
    if (this.#begun && splits.length > 0) splits[0]!.offset = this.#nextLineOffset();
    this.#state.update(splits);
  }

  close(): void {
    this.#closeFile();
  }

  /**
   * The file offset of the next unread line. #text's lines are #data's lines one for one ('\n' is one byte in
   * UTF-8, and a decoder never merges it into a malformed sequence), so the bytes read are found by counting
   * the newlines read: exact for any bytes, where the decoded length would not be (a malformed byte decodes as
   * U+FFFD, three bytes). Only at checkpoints.
   */
  #nextLineOffset(): number {
    const text = this.#text;
    const c = this.#cursor;
    if (c >= text.length) return this.#bufPos + this.#textTo;
    let at = this.#textFrom;
    for (let i = text.indexOf('\n'); i !== -1 && i < c; i = text.indexOf('\n', i + 1)) at = this.#data.indexOf(NEWLINE, at) + 1;
    return this.#bufPos + at;
  }

  /**
   * Positions the reader at the first line the split owns: the line starting at `offset` if the byte
   * before it is '\n' (or offset is 0), else the line after the next '\n'. An offset saved by a
   * checkpoint is always a line start, so beginning there again skips nothing.
   */
  #begin(split: TextFileSplit): boolean {
    if (split.path !== this.#fdPath) this.#openFile(split.path);
    this.#begun = true;
    this.#eof = false;
    this.#data = this.#buf.subarray(0, 0);
    this.#text = '';
    this.#cursor = 0;
    this.#textFrom = this.#textTo = 0;
    if (split.offset === 0) {
      this.#bufPos = 0;
      return true;
    }
    this.#bufPos = split.offset - 1;
    for (;;) {
      const nl = this.#data.indexOf(NEWLINE);
      if (nl !== -1) {
        this.#textFrom = this.#textTo = nl + 1;
        return true;
      }
      if (this.#eof) return false; // no line starts at or after offset
      // the bytes read so far are the end of a line that started before: dropped
      this.#textTo = this.#data.length;
      this.#fill();
    }
  }

  #finishSplit(output: ReaderOutput<string>): void {
    const split = this.#splits.shift();
    this.#begun = false;
    if (this.#out && split) output.releaseSplit?.(splitId(split));
    this.#out = null;
  }

  /**
   * Decodes the next whole lines in the buffer that the split owns (those starting before its end) as #text,
   * reading more of the file as needed; false when the split owns no more.
   */
  #decodeNext(split: TextFileSplit): boolean {
    for (;;) {
      const from = this.#textTo;
      if (this.#bufPos + from >= split.end) return false; // the next line starts in the next split
      const data = this.#data;
      // whole lines within a window of DECODE_WINDOW bytes, or the one line that is longer
      let last = data.length > from ? data.lastIndexOf(NEWLINE, Math.min(data.length, from + DECODE_WINDOW) - 1) : -1;
      if (last < from) last = data.indexOf(NEWLINE, from);
      if (last === -1) {
        if (!this.#eof) {
          this.#fill();
          continue;
        }
        if (from === data.length) return false; // end of file
        return this.#decode(from, data.length); // the file's last line, without '\n'
      }
      // the split ends with the line holding its last byte (at or after `from`, checked above): lines starting
      // after it are the next split's
      const lastByte = split.end - 1 - this.#bufPos;
      const to = lastByte < last ? data.indexOf(NEWLINE, lastByte) + 1 : last + 1;
      return this.#decode(from, to);
    }
  }

  #decode(from: number, to: number): boolean {
    this.#text = utf8Slice.call(this.#data, from, to);
    this.#cursor = 0;
    this.#textFrom = from;
    this.#textTo = to;
    return true;
  }

  /** Keeps the undecoded bytes (moved to the front), reads the next chunk after them; #eof once nothing more is read. */
  #fill(): void {
    const from = this.#textTo;
    const keep = this.#data.length - from;
    if (from > 0) {
      this.#buf.copyWithin(0, from, this.#data.length);
      this.#bufPos += from;
      this.#textFrom = this.#textTo = 0;
    }
    if (keep === this.#buf.length) {
      // one line fills the whole buffer: grow it (rare, only for lines longer than a chunk)
      const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
      this.#buf.copy(bigger, 0, 0, keep);
      this.#buf = bigger;
    }
    const n = readSync(this.#fd, this.#buf, keep, this.#buf.length - keep, this.#bufPos + keep);
    this.#data = this.#buf.subarray(0, keep + n);
    if (n === 0) this.#eof = true;
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
