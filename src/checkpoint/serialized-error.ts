// An error as a control message carries it: name, code, message, stack, hint and cause (recursively), rebuilt on the other side.
import {
  CancellationError,
  CheckpointError,
  ConfigError,
  FloeError,
  JobDefinitionError,
  JobExecutionError,
  isErrorCode,
  isUnrecoverable,
  RestError,
  SavepointError,
  StateValueError,
  UnrecoverableError,
} from '../errors.ts';

export interface SerializedError {
  /** the class name (`StateValueError`, `TypeError`, a user's own class) */
  name: string;
  /** floe's stable code, or a system error's (`ENOENT`) */
  code?: string;
  message: string;
  stack?: string;
  hint?: string;
  /** restarting cannot fix it (an UnrecoverableError or ConfigError, itself or as a cause): the job fails at once */
  unrecoverable?: boolean;
  /** a cause that is not an Error is kept as its string */
  cause?: SerializedError;
}

/** How deep a cause chain is followed: causes can be cyclic. */
const MAX_DEPTH = 16;

export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & { code?: unknown; hint?: unknown };
  return {
    name: e.name,
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: String(e.code) } : {}),
    message: e.message,
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
    ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
    ...(isUnrecoverable(error) ? { unrecoverable: true } : {}),
    ...(e.cause !== undefined && depth < MAX_DEPTH ? { cause: serializeError(e.cause, depth + 1) } : {}),
  };
}

/**
 * `error` if it has a code, else a CheckpointError with its message and the error as its cause:
 * a decline's cause is always coded (FLOE_CHECKPOINT_SNAPSHOT_FAILED for an uncoded snapshot failure).
 */
export function codedCause(error: unknown): Error {
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CheckpointError('FLOE_CHECKPOINT_SNAPSHOT_FAILED', message, { cause: error });
}

/** floe's coded errors by class name: they come back as themselves, so `instanceof` and the CLI's `error CODE` still work. */
// each takes only its own codes: a code read off the wire is passed as it came (a peer of the same floe registered it)
const FLOE_ERRORS: Record<string, new (code: never, message: string, options: { cause?: unknown; hint?: string }) => FloeError> = {
  FloeError,
  ConfigError,
  JobDefinitionError,
  CheckpointError,
  JobExecutionError,
  UnrecoverableError,
  StateValueError,
  SavepointError,
  RestError,
};
const BUILT_IN: Record<string, ErrorConstructor> = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

function floeError(s: SerializedError, options: { cause?: unknown; hint?: string }): FloeError | undefined {
  if (s.name === 'CancellationError') return new CancellationError(s.message);
  const Class = FLOE_ERRORS[s.name] ?? (s.unrecoverable ? UnrecoverableError : undefined);
  return Class && new Class((isErrorCode(s.code) ? s.code : 'FLOE_ERROR') as never, s.message, options);
}

/** The error again: floe's own classes and the built-in ones by name; anything else an Error (an UnrecoverableError if it was one) named as before. */
export function deserializeError(s: SerializedError): Error {
  const cause = s.cause === undefined ? undefined : deserializeError(s.cause);
  const options = { ...(cause !== undefined ? { cause } : {}), ...(s.hint !== undefined ? { hint: s.hint } : {}) };
  let error: Error | undefined = floeError(s, options);
  if (!error) {
    error = new (BUILT_IN[s.name] ?? Error)(s.message, cause !== undefined ? { cause } : undefined);
    const extra = error as Error & { code?: string; hint?: string };
    if (s.code !== undefined) extra.code = s.code;
    if (s.hint !== undefined) extra.hint = s.hint;
  }
  if (error.name !== s.name) Object.defineProperty(error, 'name', { value: s.name, configurable: true, writable: true });
  if (s.stack !== undefined) error.stack = s.stack;
  return error;
}
