// print(): writes every record as a line to stdout, like Flink's print() (at-least-once, for watching jobs).
import type { OperatorContext, Sink, StreamOperator } from '../operators/operator.ts';
import { formatRecord } from './format-record.ts';

/** Where printed text goes; process.stdout by default, any collector in tests. */
export interface TextOut {
  write(chunk: string): unknown;
}

export interface PrintSinkOptions {
  out?: TextOut;
}

/** flush once this many characters are buffered: one write per chunk, not per record */
const FLUSH_AT = 64 * 1024;

export class PrintSink<T = unknown> implements Sink<T> {
  readonly name: string;
  readonly out: TextOut;

  constructor(
    readonly prefix = '',
    options: PrintSinkOptions = {},
  ) {
    this.name = prefix ? `Print(${prefix})` : 'Print';
    this.out = options.out ?? process.stdout;
  }

  createWriter(): StreamOperator<T, never> {
    return new PrintWriter<T>(this.prefix, this.out);
  }
}

class PrintWriter<T> implements StreamOperator<T, never> {
  #linePrefix = '';
  #buffer = '';

  constructor(
    readonly prefix: string,
    readonly out: TextOut,
  ) {}

  open(context: OperatorContext): void {
    // Flink's PrintSinkOutputWriter: "id:subtask> ", "subtask> ", "id> " or nothing
    let p = this.prefix;
    if (context.parallelism > 1) p += (p ? ':' : '') + (context.subtaskIndex + 1);
    this.#linePrefix = p ? `${p}> ` : '';
  }

  processElement(record: T): void {
    this.#buffer += this.#linePrefix + formatRecord(record) + '\n';
    if (this.#buffer.length >= FLUSH_AT) this.#flush();
  }

  /** Printed output cannot be taken back, so a checkpoint only makes sure nothing is left buffered. */
  snapshotState(): void {
    this.#flush();
  }

  endInput(): void {
    this.#flush();
  }

  close(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#buffer === '') return;
    const text = this.#buffer;
    this.#buffer = '';
    this.out.write(text);
  }
}
