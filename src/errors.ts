// Errors a user can meet: each has a stable `code` (API) and a message that says what to do.

export class FloeError extends Error {
  readonly code: string;
  /** one line telling the user how to fix it, printed by the CLI under the message */
  readonly hint?: string;

  constructor(code: string, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}

/** Bad configuration: an unknown key, a bad value, a missing required option. */
export class ConfigError extends FloeError {}

/** A job file that cannot be loaded or builds an invalid pipeline. */
export class JobDefinitionError extends FloeError {}

/** A checkpoint that could not be taken (declined, too large, timed out). */
export class CheckpointError extends FloeError {}

/** The job failed for good: the restart strategy gave up, or too many checkpoints failed. */
export class JobExecutionError extends FloeError {}

/**
 * A failure that restarting cannot fix (Flink's SuppressRestartsException): the job fails at once
 * with it, whatever the restart strategy, instead of restarting into the same failure again.
 */
export class UnrecoverableError extends FloeError {}

/**
 * Whether restarting cannot fix `error`: an UnrecoverableError, or a ConfigError (a restart reads
 * the same configuration), itself or as the cause of another error.
 */
export function isUnrecoverable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof UnrecoverableError || e instanceof ConfigError) return true;
  }
  return false;
}

/**
 * A state value (or an in-flight record) of a type that cannot be written to a snapshot: a
 * function, a symbol, a class instance. Unrecoverable: restoring would meet the same value again.
 */
export class StateValueError extends UnrecoverableError {}

/**
 * A keyed state backend used outside its lifecycle: after `dispose()` began (FLOE_STATE_BACKEND_CLOSED).
 * A programming error in an operator or a test, never a user's data: restarting gets a new backend.
 */
export class StateBackendError extends FloeError {}

/** A task was canceled; thrown into pending work when a job is canceled or restarted. */
export class CancellationError extends FloeError {
  constructor(message = 'task canceled') {
    super('FLOE_CANCELED', message);
  }
}

/** A savepoint that cannot be taken, found, read or matched to the job (codes FLOE_SAVEPOINT_*). */
export class SavepointError extends FloeError {}

/** A REST request or a CLI call to the REST API that cannot be served (codes FLOE_REST_*). */
export class RestError extends FloeError {}
