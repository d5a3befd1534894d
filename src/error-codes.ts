// Every code a floe error or warning carries, in one registry: its class and when it is raised.
// A constructor takes only the codes registered for its class (the compiler checks every throw), the
// README's table of codes is checked against this list by spec/error-codes.spec.ts, and a spec finds any
// FLOE_ string in src/ that is not here.

/** The classes of floe's errors (src/errors.ts) and warnings (src/warnings.ts). */
export type ErrorClassName =
  | 'FloeError'
  | 'ConfigError'
  | 'JobDefinitionError'
  | 'CheckpointError'
  | 'JobExecutionError'
  | 'UnrecoverableError'
  | 'StateValueError'
  | 'StateBackendError'
  | 'CancellationError'
  | 'SavepointError'
  | 'RestError'
  | 'FloeWarning';

export const ERROR_CODES = {
  FLOE_CONFIG_UNKNOWN_KEY: { class: 'ConfigError', when: 'a configuration key floe does not know (with the nearest known key)' },
  FLOE_CONFIG_BAD_VALUE: { class: 'ConfigError', when: 'a configuration value of the wrong type or out of range' },
  FLOE_CONFIG_BAD_PROPERTY: { class: 'ConfigError', when: 'a `-D` property that is not `key=value`' },
  FLOE_CONFIG_FILE_NOT_FOUND: { class: 'ConfigError', when: 'the configuration file given does not exist' },
  FLOE_CONFIG_FILE_UNREADABLE: { class: 'ConfigError', when: 'the configuration file cannot be read' },
  FLOE_CONFIG_PARSE_ERROR: { class: 'ConfigError', when: 'the configuration file is not valid YAML' },
  FLOE_CHECKPOINT_DIR_MISSING: { class: 'ConfigError', when: 'the fs or level backend without a checkpoint directory' },
  FLOE_CHECKPOINT_DIR_NOT_WRITABLE: { class: 'ConfigError', when: 'the checkpoint directory cannot be created or written' },
  FLOE_LEVEL_LOCALDIR_NOT_WRITABLE: {
    class: 'ConfigError',
    when: '`state.backend.level.localdir` cannot be created or written (checked before the job starts)',
  },
  FLOE_UNALIGNED_NEEDS_EXACTLY_ONCE: {
    class: 'ConfigError',
    when: 'unaligned checkpoints or the aligned-checkpoint timeout with at-least-once mode',
  },
  FLOE_INSPECT_BAD_URL: { class: 'ConfigError', when: '`--inspect` given something that is not a websocket URL' },
  FLOE_BENCH_BAD_DURATION: { class: 'ConfigError', when: '`floe bench` given a duration it cannot read' },
  FLOE_BENCH_BAD_LEVELS: { class: 'ConfigError', when: '`floe bench --levels` given something other than numbers >= 0' },
  FLOE_BENCH_SCENARIO_INVALID: { class: 'ConfigError', when: 'a benchmark scenario file that does not describe a scenario' },
  FLOE_BENCH_SCENARIO_NOT_FOUND: { class: 'ConfigError', when: 'a benchmark scenario file that cannot be read' },
  FLOE_BENCH_UNKNOWN_MODE: { class: 'ConfigError', when: '`floe bench` given a checkpointing mode it does not know' },
  FLOE_POSTGRES_BAD_URL: { class: 'ConfigError', when: '`connector.postgres.url` is not a postgres:// URL' },
  FLOE_CLUSTER_TOKEN_REQUIRED: {
    class: 'ConfigError',
    when: 'the JobManager would take TaskManagers off loopback without cluster.auth-token',
  },
  FLOE_JOB_NOT_FOUND: { class: 'JobDefinitionError', when: 'the job file does not exist; over REST: no job with that id' },
  FLOE_JOB_UNKNOWN_EXTENSION: { class: 'JobDefinitionError', when: 'the job file is not a .ts, .mts, .js or .mjs file' },
  FLOE_JOB_SYNTAX_ERROR: { class: 'JobDefinitionError', when: 'the job file, or a module it imports, does not parse' },
  FLOE_JOB_NO_DEFAULT_EXPORT: { class: 'JobDefinitionError', when: 'the job file has no default export function' },
  FLOE_JOB_CANNOT_IMPORT_FLOE: { class: 'JobDefinitionError', when: "the job file imports 'floe' where it is not installed" },
  FLOE_JOB_TOP_LEVEL_AWAIT: { class: 'JobDefinitionError', when: 'a job file loaded as CommonJS uses top-level await' },
  FLOE_JOB_BUILD_FAILED: { class: 'JobDefinitionError', when: "the job file's function threw while building the pipeline" },
  FLOE_JOB_NO_SINK: { class: 'JobDefinitionError', when: 'the pipeline has no sink' },
  FLOE_DUPLICATE_UID: { class: 'JobDefinitionError', when: 'two operators share one uid' },
  FLOE_FORWARD_PARALLELISM: { class: 'JobDefinitionError', when: 'a forward edge between operators of different parallelism' },
  FLOE_PARALLELISM_FIXED: { class: 'JobDefinitionError', when: 'a parallelism set on an operator that runs with one parallelism only' },
  FLOE_PARALLELISM_TOO_HIGH: { class: 'JobDefinitionError', when: "an operator's parallelism above the max parallelism" },
  FLOE_STATE_NOT_KEYED: { class: 'JobDefinitionError', when: 'keyed state used on a stream that is not keyed' },
  FLOE_SOURCE_FILE_NOT_FOUND: { class: 'JobDefinitionError', when: "a file source's input file is missing or not a file" },
  FLOE_SINK_DIR_NOT_WRITABLE: { class: 'JobDefinitionError', when: 'a FileSink directory that cannot be created or written' },
  FLOE_JETSTREAM_NO_SERVERS: { class: 'JobDefinitionError', when: 'a JetStream source or sink with no NATS servers to connect to' },
  FLOE_JETSTREAM_AUTH_FAILED: { class: 'JobDefinitionError', when: "NATS refuses the JetStream connector's credentials" },
  FLOE_POSTGRES_NO_CONNECTION: { class: 'JobDefinitionError', when: 'a PostgresSink with no database to connect to' },
  FLOE_POSTGRES_LOGIN_FAILED: {
    class: 'JobDefinitionError',
    when: 'PostgreSQL refuses the user, password or database of connectionString',
  },
  FLOE_NEGATIVE_DURATION: { class: 'JobDefinitionError', when: 'a duration (out-of-orderness, lateness, idleness, gap) that is negative' },
  FLOE_BAD_DURATION: { class: 'JobDefinitionError', when: "a duration that cannot be read (e.g. '2s', 500)" },
  FLOE_BAD_TIMER: { class: 'JobDefinitionError', when: 'a timer registered at a time that is not a finite number of epoch milliseconds' },
  FLOE_TIMER_NOT_KEYED: { class: 'JobDefinitionError', when: 'a timer registered outside a keyed context' },
  FLOE_TIMER_NO_ONTIMER: { class: 'JobDefinitionError', when: 'a process function registers timers but has no onTimer' },
  FLOE_WINDOW_SIZE: { class: 'JobDefinitionError', when: 'a window size that is not larger than 0' },
  FLOE_WINDOW_OFFSET: { class: 'JobDefinitionError', when: "a window offset not smaller than the window's size" },
  FLOE_WINDOW_SLIDE: { class: 'JobDefinitionError', when: 'a window slide larger than its size' },
  FLOE_WINDOW_NOT_KEYED: { class: 'JobDefinitionError', when: 'windows on a stream that is not keyed' },
  FLOE_NO_TIMESTAMP: { class: 'JobDefinitionError', when: 'an event-time window or timer meets a record without an event timestamp' },
  FLOE_AGGREGATE_MERGE: { class: 'JobDefinitionError', when: 'an aggregate on session windows without merge(a, b)' },
  FLOE_CHECKPOINT_ABORTED: {
    class: 'CheckpointError',
    when: 'a checkpoint or savepoint request that ended without a completed checkpoint',
  },
  FLOE_CHECKPOINT_EXPIRED: { class: 'CheckpointError', when: 'a checkpoint not acknowledged by every task within the timeout' },
  FLOE_CHECKPOINT_SUBSUMED: { class: 'CheckpointError', when: 'a checkpoint aborted because a newer one completed first' },
  FLOE_CHECKPOINT_DECLINED: { class: 'CheckpointError', when: 'a checkpoint a task declined (its cause is kept)' },
  FLOE_CHECKPOINT_PERSIST_FAILED: { class: 'CheckpointError', when: 'a fully acknowledged checkpoint whose metadata could not be written' },
  FLOE_CHECKPOINT_JOB_SUSPENDED: { class: 'CheckpointError', when: 'a checkpoint pending when the job failed, restarted or stopped' },
  FLOE_CHECKPOINT_DISCARDED: { class: 'CheckpointError', when: 'a checkpoint pending when the job ended' },
  FLOE_CHECKPOINT_CANCELED_UPSTREAM: { class: 'CheckpointError', when: 'a checkpoint canceled by a task upstream (cancel barrier)' },
  FLOE_CHECKPOINT_SNAPSHOT_FAILED: { class: 'CheckpointError', when: "an operator's snapshot threw without a code of its own" },
  FLOE_CHECKPOINT_WRITE_FAILED: { class: 'CheckpointError', when: "a task's state could not be written to the checkpoint directory" },
  FLOE_CHECKPOINT_READ_FAILED: { class: 'CheckpointError', when: "a checkpoint's state file could not be read" },
  FLOE_CHECKPOINT_FILE_MISSING: { class: 'CheckpointError', when: 'a state file a checkpoint references is missing' },
  FLOE_CHECKPOINT_FILE_CORRUPT: { class: 'CheckpointError', when: "a state file's size or checksum differs from its handle" },
  FLOE_CHECKPOINT_METADATA_MISSING: { class: 'CheckpointError', when: 'a checkpoint directory without readable `_metadata`' },
  FLOE_CHECKPOINT_METADATA_CORRUPT: { class: 'CheckpointError', when: "a checkpoint's `_metadata` is damaged" },
  FLOE_CHECKPOINT_METADATA_VERSION: {
    class: 'CheckpointError',
    when: "a checkpoint's `_metadata` has a format version this floe cannot read",
  },
  FLOE_CHECKPOINT_NOT_FOUND: { class: 'CheckpointError', when: 'no checkpoint at the path (or id) given' },
  FLOE_RESTORE_PATH_IS_CHECKPOINT_DIR: {
    class: 'CheckpointError',
    when: "`-s` given the checkpoint root instead of a job's directory or a `chk-<n>`",
  },
  FLOE_CHANNEL_STATE_RESCALE: {
    class: 'CheckpointError',
    when: "an unaligned checkpoint's in-flight data restored at another parallelism",
  },
  FLOE_TASK_NOT_READY: { class: 'CheckpointError', when: 'a checkpoint triggered at a task that is not running' },
  FLOE_STATE_TOO_LARGE: { class: 'CheckpointError', when: "keyed state over the memory backend's size limit" },
  FLOE_KEY_GROUP_OUT_OF_RANGE: { class: 'CheckpointError', when: "a key outside the subtask's key-group range" },
  FLOE_MAX_PARALLELISM_MISMATCH: { class: 'CheckpointError', when: 'state written with another max parallelism' },
  FLOE_SNAPSHOT_CORRUPT: { class: 'CheckpointError', when: 'a keyed state snapshot that cannot be decoded' },
  FLOE_SNAPSHOT_UNSUPPORTED_FORMAT: { class: 'CheckpointError', when: 'a keyed state snapshot of a format version this floe cannot read' },
  FLOE_UNSUPPORTED_HANDLE: { class: 'CheckpointError', when: 'a state handle the checkpoint storage cannot read' },
  FLOE_LEVEL_OPEN_FAILED: {
    class: 'CheckpointError',
    when: "the level backend's working directory could not be opened (a restart may succeed)",
  },
  FLOE_CHECKPOINT_TASK_FINISHED: {
    class: 'CheckpointError',
    when: "a savepoint or checkpoint of a job without checkpointing after a task that is not a source's finished, or a source's final snapshot failed (its final state is known nowhere)",
  },
  FLOE_JOB_FAILED: {
    class: 'JobExecutionError',
    when: 'the job failed for good (restart strategy exhausted, or a failure restarting cannot fix)',
  },
  FLOE_TOO_MANY_CHECKPOINT_FAILURES: {
    class: 'JobExecutionError',
    when: 'more consecutive checkpoint failures than `execution.checkpointing.tolerable-failed-checkpoints`',
  },
  FLOE_NO_USABLE_CHECKPOINT: { class: 'JobExecutionError', when: 'no retained checkpoint at the path can be restored' },
  FLOE_LEVEL_LOCALDIR_UNUSABLE: {
    class: 'UnrecoverableError',
    when: "the level backend's working directory cannot be used at all (not a directory, no permission)",
  },
  FLOE_SINK_PENDING_FILE_MISSING: { class: 'UnrecoverableError', when: 'a restored FileSink part file is neither pending nor committed' },
  FLOE_JETSTREAM_STREAM_NOT_FOUND: { class: 'UnrecoverableError', when: 'JetStreamSource: the stream does not exist' },
  FLOE_JETSTREAM_DESERIALIZATION_FAILED: {
    class: 'UnrecoverableError',
    when: 'the deserializer rejected a message (names subject and sequence)',
  },
  FLOE_JETSTREAM_CONSUMER_NOT_FOUND: {
    class: 'UnrecoverableError',
    when: 'JetStreamSource: a consumer named in `consumers` does not exist on the stream',
  },
  FLOE_POSTGRES_TABLE_INVALID: { class: 'UnrecoverableError', when: 'PostgresSink cannot use its table with the columns given' },
  FLOE_POSTGRES_PREPARED_TRANSACTIONS_DISABLED: {
    class: 'UnrecoverableError',
    when: 'exactly-once PostgresSink on a server with max_prepared_transactions = 0 (use upsert mode or raise the setting)',
  },
  FLOE_BAD_TIMESTAMP: {
    class: 'UnrecoverableError',
    when: 'the timestamp assigner returned something that is not a finite number of epoch milliseconds',
  },
  FLOE_STATE_VALUE_NOT_SERIALIZABLE: {
    class: 'StateValueError',
    when: 'a state value (or record in flight) that cannot be written to a snapshot',
  },
  FLOE_STATE_BACKEND_CLOSED: { class: 'StateBackendError', when: 'keyed state used after its backend was closed' },
  FLOE_CANCELED: { class: 'CancellationError', when: 'the job was canceled' },
  FLOE_JOB_NOT_RUNNING: { class: 'SavepointError', when: 'a savepoint of a job that is not running' },
  FLOE_STOP_DRAIN_NEEDS_CHECKPOINTING: { class: 'SavepointError', when: '`stop --drain` of a job without checkpointing' },
  FLOE_SAVEPOINT_FAILED: { class: 'SavepointError', when: 'a savepoint that could not be taken' },
  FLOE_SAVEPOINT_NO_TARGET: { class: 'SavepointError', when: 'a savepoint without a target directory and no `state.savepoints.dir`' },
  FLOE_SAVEPOINT_TARGET_NOT_WRITABLE: { class: 'SavepointError', when: 'the savepoint target directory cannot be written' },
  FLOE_SAVEPOINT_WRITE_FAILED: { class: 'SavepointError', when: "a savepoint's files could not be written" },
  FLOE_SAVEPOINT_NOT_FOUND: { class: 'SavepointError', when: 'no savepoint at the path given' },
  FLOE_NOT_A_SAVEPOINT: { class: 'SavepointError', when: "a `_metadata` that is not a floe savepoint's" },
  FLOE_SAVEPOINT_METADATA_MISSING: { class: 'SavepointError', when: 'a savepoint directory without `_metadata`' },
  FLOE_SAVEPOINT_METADATA_CORRUPT: { class: 'SavepointError', when: "a savepoint's `_metadata` is damaged" },
  FLOE_SAVEPOINT_VERSION_UNSUPPORTED: { class: 'SavepointError', when: 'a savepoint of a format version this floe cannot read' },
  FLOE_SAVEPOINT_FILE_MISSING: { class: 'SavepointError', when: 'a state file of the savepoint cannot be read' },
  FLOE_SAVEPOINT_CHECKSUM_MISMATCH: { class: 'SavepointError', when: 'a state file of the savepoint changed after it was written' },
  FLOE_SAVEPOINT_MAX_PARALLELISM_CHANGED: {
    class: 'SavepointError',
    when: "a savepoint or checkpoint of another max parallelism than the job's",
  },
  FLOE_SAVEPOINT_UNMATCHED_STATE: {
    class: 'SavepointError',
    when: 'state of operator uids the job does not have (without `--allow-non-restored-state`)',
  },
  FLOE_SAVEPOINT_UNKNOWN_UID: {
    class: 'SavepointError',
    when: '`savepoint inspect --dump` or `rename-uid` of a uid the savepoint does not have',
  },
  FLOE_SAVEPOINT_UNKNOWN_STATE: { class: 'SavepointError', when: '`savepoint inspect --state` names a state the operator does not have' },
  FLOE_SAVEPOINT_UID_TAKEN: { class: 'SavepointError', when: '`rename-uid` to a uid the savepoint already has' },
  FLOE_SAVEPOINT_OUTPUT_EXISTS: { class: 'SavepointError', when: '`rename-uid --output` names a directory that is not empty' },
  FLOE_REST_BAD_REQUEST: { class: 'RestError', when: 'a request the REST API cannot read (bad id, bad body)' },
  FLOE_REST_BODY_TOO_LARGE: { class: 'RestError', when: "a request body over the REST API's limit" },
  FLOE_REST_NOT_FOUND: { class: 'RestError', when: 'no such REST endpoint' },
  FLOE_REST_UNAUTHORIZED: { class: 'RestError', when: 'a request that changes a job without the REST token' },
  FLOE_REST_TOKEN_REQUIRED: { class: 'RestError', when: 'the REST API would listen off loopback without `rest.auth-token`' },
  FLOE_REST_LISTEN_FAILED: { class: 'RestError', when: 'the REST server cannot listen on its address and port' },
  FLOE_REST_TARGET_NOT_ALLOWED: { class: 'RestError', when: 'a savepoint target outside the allowed directories' },
  FLOE_REST_TRIGGER_NOT_FOUND: { class: 'RestError', when: 'no savepoint operation with that trigger id' },
  FLOE_REST_UNREACHABLE: { class: 'RestError', when: 'the CLI cannot reach the REST API at `-m`' },
  FLOE_REST_NOT_FLOE: { class: 'RestError', when: "the address at `-m` answers, but not as floe's REST API" },
  FLOE_REST_ERROR: { class: 'RestError', when: 'the REST API answered an error without a code of its own' },
  FLOE_REST_VERTEX_NOT_FOUND: { class: 'RestError', when: 'no vertex with that id in the job' },
  FLOE_REST_HOST_NOT_ALLOWED: {
    class: 'RestError',
    when: 'a request to the loopback REST API under a host name that is not loopback (DNS rebinding)',
  },
  FLOE_REST_ORIGIN_NOT_ALLOWED: { class: 'RestError', when: 'a request that changes a job from a page of another origin' },
  FLOE_REST_METHOD_NOT_ALLOWED: { class: 'RestError', when: 'a REST endpoint called with a method it does not serve (405)' },
  FLOE_INSPECTOR_LISTEN_FAILED: { class: 'RestError', when: '`floe inspector` cannot listen on its address and port' },
  FLOE_REST_TASKMANAGER_NOT_FOUND: { class: 'RestError', when: 'no TaskManager with that id' },
  FLOE_REST_NO_SUBMISSION: { class: 'RestError', when: 'a job submitted to a floe run, which serves its one job' },
  FLOE_REST_SUBMIT_FAILED: { class: 'RestError', when: 'a job submitted to the JobManager could not be started' },
  FLOE_REST_UNSUPPORTED_MEDIA_TYPE: { class: 'RestError', when: 'a request body that is not JSON (415)' },
  FLOE_CONTROL_MESSAGE_INVALID: { class: 'FloeError', when: 'a control message between tasks and the job master that does not decode' },
  FLOE_SINK_COMMIT_FAILED: { class: 'FloeError', when: 'a FileSink part file could not be committed' },
  FLOE_USAGE: { class: 'FloeError', when: 'options of a command that do not go together' },
  FLOE_ERROR: { class: 'FloeError', when: 'an error whose code was lost on its way (never thrown by floe itself)' },
  FLOE_JETSTREAM_UNAVAILABLE: { class: 'FloeError', when: 'NATS cannot be reached at start, after a bounded retry' },
  FLOE_JETSTREAM_CONNECTION_LOST: { class: 'FloeError', when: 'a JetStream connector lost its NATS connection mid-job (the job restarts)' },
  FLOE_JETSTREAM_NO_STREAM_FOR_SUBJECT: { class: 'FloeError', when: 'JetStreamSink: no stream takes the subject it publishes to' },
  FLOE_JETSTREAM_PUBLISH_FAILED: { class: 'FloeError', when: 'JetStreamSink could not publish (the checkpoint is declined)' },
  FLOE_POSTGRES_CONNECTION_LOST: {
    class: 'FloeError',
    when: 'a PostgresSink lost its connection mid-job (the task fails, the job restarts)',
  },
  FLOE_POSTGRES_CLOSED: { class: 'FloeError', when: 'a PostgresSink closed while it connected' },
  FLOE_POSTGRES_WRITE_FAILED: {
    class: 'FloeError',
    when: "PostgreSQL refused a write (the checkpoint is declined with the database's message)",
  },
  FLOE_POSTGRES_UNAVAILABLE: { class: 'FloeError', when: 'PostgreSQL cannot be reached, after a bounded retry' },
  FLOE_CLUSTER_BUSY: { class: 'FloeError', when: 'a job submitted to a JobManager that runs one already (one job at a time)' },
  FLOE_CLUSTER_FRAME_INVALID: { class: 'FloeError', when: 'a cluster websocket frame that does not decode (the connection is closed)' },
  FLOE_NOT_ENOUGH_SLOTS: {
    class: 'FloeError',
    when: "the cluster has fewer slots than the job's highest parallelism after slot.request.timeout",
  },
  FLOE_TASKMANAGER_LOST: { class: 'FloeError', when: 'a TaskManager process exited or missed its heartbeats (the job restarts)' },
  FLOE_JOBMANAGER_UNREACHABLE: { class: 'FloeError', when: 'a TaskManager cannot reach the JobManager' },
  FLOE_CLUSTER_VERSION_MISMATCH: { class: 'FloeError', when: 'a TaskManager of another floe version registers' },
  FLOE_CLUSTER_AUTH_FAILED: { class: 'FloeError', when: "a TaskManager registers without the JobManager's cluster.auth-token" },
  FLOE_CLUSTER_NOT_REGISTERED: { class: 'FloeError', when: 'a TaskManager sends before it registered' },
  FLOE_UID_MISSING: { class: 'FloeWarning', when: 'operators without `.uid(...)`: their state cannot follow them once the job changes' },
  FLOE_SINK_OTHER_JOB_PARTS: { class: 'FloeWarning', when: "a FileSink directory that already holds another job's part files" },
  FLOE_INSPECTOR_UNREACHABLE: { class: 'FloeWarning', when: 'no inspector listens at the `--inspect` URL: the job runs on' },
  FLOE_TASK_FINAL_STATE_FAILED: {
    class: 'FloeWarning',
    when: "without checkpointing, a source's task could not snapshot its final state: later savepoints are refused",
  },
  FLOE_POSTGRES_LINGERING_TRANSACTIONS: {
    class: 'FloeWarning',
    when: 'a fresh PostgresSink without transactionalIdPrefix finds prepared transactions of another run of its operator',
  },
  FLOE_JETSTREAM_SHORT_DUPLICATE_WINDOW: {
    class: 'FloeWarning',
    when: "the stream's duplicate window is shorter than the checkpoint timeout: a slow recovery may duplicate",
  },
} as const satisfies Record<`FLOE_${string}`, { class: ErrorClassName; when: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes registered for one class: what its constructor accepts. */
export type CodeOf<C extends ErrorClassName> = { [K in ErrorCode]: (typeof ERROR_CODES)[K]['class'] extends C ? K : never }[ErrorCode];

/** Whether `code` is a registered code (a code read off the wire or from JSON). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
