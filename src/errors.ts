// Errors a user can meet: each has a stable `code` (API) and a message that says what to do.
// Codes are registered, with their class, in error-codes.ts: each constructor takes only its class's codes.
import type { CodeOf, ErrorCode } from './error-codes.ts';

export type { CodeOf, ErrorCode } from './error-codes.ts';
export { ERROR_CODES, isErrorCode } from './error-codes.ts';

export interface FloeErrorOptions {
  cause?: unknown;
  /** one line telling the user how to fix it */
  hint?: string;
}

export class FloeError extends Error {
  readonly code: ErrorCode;
  /** one line telling the user how to fix it, printed by the CLI under the message */
  readonly hint?: string;

  constructor(code: CodeOf<'FloeError'> | ErrorCode, message: string, options: FloeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad configuration: an unknown key, a bad value, a missing required option. */
export class ConfigError extends FloeError {
  declare readonly code: CodeOf<'ConfigError'>;

  constructor(code: CodeOf<'ConfigError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/** A job file that cannot be loaded or builds an invalid pipeline. */
export class JobDefinitionError extends FloeError {
  declare readonly code: CodeOf<'JobDefinitionError'>;

  constructor(code: CodeOf<'JobDefinitionError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/** A checkpoint that could not be taken (declined, too large, timed out). */
export class CheckpointError extends FloeError {
  declare readonly code: CodeOf<'CheckpointError'>;

  constructor(code: CodeOf<'CheckpointError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/** The job failed for good: the restart strategy gave up, or too many checkpoints failed. */
export class JobExecutionError extends FloeError {
  declare readonly code: CodeOf<'JobExecutionError'>;

  constructor(code: CodeOf<'JobExecutionError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A failure that restarting cannot fix (Flink's SuppressRestartsException): the job fails at once
 * with it, whatever the restart strategy, instead of restarting into the same failure again.
 */
export class UnrecoverableError extends FloeError {
  declare readonly code: CodeOf<'UnrecoverableError' | 'StateValueError'>;

  constructor(code: CodeOf<'UnrecoverableError' | 'StateValueError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/**
 * Whether restarting cannot fix `error`: an UnrecoverableError, or a ConfigError (a restart reads
 * the same configuration), itself or as the cause of another error.
 */
export function isUnrecoverable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof UnrecoverableError || e instanceof ConfigError) return true;
    if (e instanceof JobDefinitionError && PIPELINE_MISUSE.has(e.code)) return true;
  }
  return false;
}

/**
 * Job definition errors a task meets at run time, in the job's own functions: a restart runs the same
 * code on the same records into the same error, so the job fails at once instead of restarting forever.
 */
const PIPELINE_MISUSE: ReadonlySet<string> = new Set([
  'FLOE_TIMER_NOT_KEYED',
  'FLOE_TIMER_NO_ONTIMER',
  'FLOE_BAD_TIMER',
  'FLOE_NO_TIMESTAMP',
  'FLOE_AGGREGATE_MERGE',
  'FLOE_STATE_NOT_KEYED',
  'FLOE_WINDOW_NOT_KEYED',
]);

/**
 * A state value (or an in-flight record) of a type that cannot be written to a snapshot: a
 * function, a symbol, a class instance. Unrecoverable: restoring would meet the same value again.
 */
export class StateValueError extends UnrecoverableError {
  declare readonly code: CodeOf<'StateValueError'>;

  constructor(code: CodeOf<'StateValueError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A keyed state backend used outside its lifecycle: after `dispose()` began (FLOE_STATE_BACKEND_CLOSED).
 * A programming error in an operator or a test, never a user's data: restarting gets a new backend.
 */
export class StateBackendError extends FloeError {
  declare readonly code: CodeOf<'StateBackendError'>;

  constructor(code: CodeOf<'StateBackendError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/** A task was canceled; thrown into pending work when a job is canceled or restarted. */
export class CancellationError extends FloeError {
  constructor(message = 'task canceled') {
    super('FLOE_CANCELED', message);
  }
}

/** A savepoint that cannot be taken, found, read or matched to the job (codes FLOE_SAVEPOINT_*). */
export class SavepointError extends FloeError {
  declare readonly code: CodeOf<'SavepointError'>;

  constructor(code: CodeOf<'SavepointError'>, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A REST request or a CLI call to the REST API that cannot be served (its own codes are FLOE_REST_*).
 * It is also the envelope of what the REST API answers: an error of the job (FLOE_JOB_NOT_FOUND,
 * FLOE_SAVEPOINT_NO_TARGET, ...) reaches the CLI as a RestError with that error's code.
 */
export class RestError extends FloeError {
  constructor(code: ErrorCode, message: string, options?: FloeErrorOptions) {
    super(code, message, options);
  }
}
