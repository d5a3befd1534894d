// Warnings a user can meet: as errors, a stable `code` (registered in error-codes.ts), a message and a hint; the job runs on.
import type { CodeOf } from './error-codes.ts';

export class FloeWarning extends Error {
  readonly code: CodeOf<'FloeWarning'>;
  /** one line telling the user what to do about it */
  readonly hint: string;
  /** printed by Node under the message when nobody listens (process.emitWarning's detail) */
  readonly detail: string;

  constructor(code: CodeOf<'FloeWarning'>, message: string, hint: string) {
    super(message);
    this.name = 'FloeWarning';
    this.code = code;
    this.hint = hint;
    this.detail = `hint: ${hint}`;
  }
}

export type WarningListener = (warning: FloeWarning) => void;

const listeners = new Set<WarningListener>();

/**
 * Reports a warning. The CLI listens and prints `warning CODE: ...` and `hint: ...` in its own
 * format; with no listener (a program using the API) it becomes a Node process warning, printed
 * on stderr with its code unless the program handles 'warning' events or runs with --no-warnings.
 */
export function emitFloeWarning(code: CodeOf<'FloeWarning'>, message: string, hint: string): void {
  const warning = new FloeWarning(code, message, hint);
  if (listeners.size === 0) process.emitWarning(warning);
  else for (const listener of listeners) listener(warning);
}

/** Receives every warning until the returned function is called. */
export function onFloeWarning(listener: WarningListener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}
