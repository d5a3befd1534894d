// The table of known configuration options: Flink's key names, types, defaults and limits.

export type OptionType = 'int' | 'number' | 'boolean' | 'duration' | 'memory' | 'enum' | 'string';

export type CheckpointingMode = 'exactly-once' | 'at-least-once';
export type StateBackendType = 'memory' | 'fs' | 'level';
export type SavepointRestoreMode = 'no-claim' | 'claim';
export type ExternalizedRetention = 'DELETE_ON_CANCELLATION' | 'RETAIN_ON_CANCELLATION' | 'NO_EXTERNALIZED_CHECKPOINTS';
export type RestartStrategyType = 'none' | 'fixed-delay' | 'failure-rate' | 'exponential-delay';

/** Each key's parsed value: durations in ms, memory sizes in bytes, enums normalized. */
export interface ConfigValues {
  'parallelism.default': number;
  'pipeline.max-parallelism': number;
  'pipeline.auto-watermark-interval': number;
  'execution.checkpointing.interval': number | undefined;
  'execution.checkpointing.mode': CheckpointingMode;
  'execution.checkpointing.timeout': number;
  'execution.checkpointing.min-pause': number;
  'execution.checkpointing.max-concurrent-checkpoints': number;
  'execution.checkpointing.tolerable-failed-checkpoints': number;
  'execution.checkpointing.incremental': boolean;
  'state.backend.incremental.materialization-interval': number;
  'state.backend.level.cache-size': number;
  'execution.checkpointing.unaligned': boolean;
  'execution.checkpointing.aligned-checkpoint-timeout': number;
  'state.backend.type': StateBackendType;
  'state.backend.memory.max-snapshot-size': number;
  'state.checkpoints.dir': string | undefined;
  'state.checkpoints.num-retained': number;
  'state.savepoints.dir': string | undefined;
  'taskmanager.network.memory.buffers-per-channel': number;
  'taskmanager.network.batch-size': number;
  'restart-strategy.type': RestartStrategyType;
  'restart-strategy.fixed-delay.attempts': number;
  'restart-strategy.fixed-delay.delay': number;
  'restart-strategy.failure-rate.max-failures-per-interval': number;
  'restart-strategy.failure-rate.failure-rate-interval': number;
  'restart-strategy.failure-rate.delay': number;
  'restart-strategy.exponential-delay.initial-backoff': number;
  'restart-strategy.exponential-delay.max-backoff': number;
  'restart-strategy.exponential-delay.backoff-multiplier': number;
  'restart-strategy.exponential-delay.reset-backoff-threshold': number;
  'restart-strategy.exponential-delay.jitter-factor': number;
  'restart-strategy.exponential-delay.attempts-before-reset-backoff': number;
  'rest.address': string;
  'rest.port': number;
  // savepoints and job operations (issue 5)
  'execution.savepoint.ignore-unclaimed-state': boolean;
  'execution.savepoint-restore-mode': SavepointRestoreMode;
  'rest.auth-token': string | undefined;
  'rest.savepoints.allowed-dirs': string | undefined;
  'rest.server.max-content-length': number;
  'rest.cors.allowed-origins': string | undefined;
  'web.checkpoints.history': number;
  // durable checkpoint storage, retention and recovery (issue 3)
  'execution.checkpointing.externalized-checkpoint-retention': ExternalizedRetention;
  'state.storage.fs.memory-threshold': number;
  'state.backend.local-recovery': boolean;
  'taskmanager.state.local.root-dirs': string | undefined;
  'state.backend.level.localdir': string | undefined;
  'execution.state-recovery.path': string | undefined;
  // connectors (issue 15): settings a job's connectors take when their options leave them out
  'connector.nats.servers': string | undefined;
  'connector.nats.user': string | undefined;
  'connector.nats.password': string | undefined;
  'connector.postgres.url': string | undefined;
  'connector.postgres.password': string | undefined;
  // the cluster: JobManager and TaskManager processes (issue 11)
  'taskmanager.numberOfTaskSlots': number;
  'slot.request.timeout': number;
  'heartbeat.interval': number;
  'heartbeat.timeout': number;
  'cluster.auth-token': string | undefined;
}

export type ConfigKey = keyof ConfigValues;

/** What a computed default may read: the rest of the configuration. */
export interface ConfigReader {
  get<K extends ConfigKey>(key: K): ConfigValues[K];
}

export interface ConfigOption<T> {
  readonly type: OptionType;
  /** a value, or a function of other options (restart-strategy.type depends on checkpointing); absent = unset */
  readonly default?: T | ((conf: ConfigReader) => T);
  /** enum only: accepted spellings, lowercase, → the normalized value */
  readonly values?: Readonly<Record<string, T>>;
  /** inclusive limits for int, number, duration (ms) and memory (bytes) */
  readonly min?: number;
  readonly max?: number;
  /** other names for the same option (Flink 2's renamed keys, Flink 1's deprecated ones) */
  readonly aliases?: readonly string[];
  /** a line added to the error when a value is rejected */
  readonly hint?: string;
  readonly description: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const CONFIG_OPTIONS: { readonly [K in ConfigKey]: ConfigOption<ConfigValues[K]> } = {
  'parallelism.default': {
    type: 'int',
    default: 1,
    min: 1,
    description: 'Parallelism of operators that do not set their own.',
  },
  'pipeline.max-parallelism': {
    type: 'int',
    default: 128,
    min: 1,
    max: 32768,
    description: 'Number of key groups: the upper bound for rescaling keyed state.',
  },
  'pipeline.auto-watermark-interval': {
    type: 'duration',
    default: 200,
    min: 0,
    description: 'How often periodic watermarks are emitted (0: only at end of input).',
  },
  'execution.checkpointing.interval': {
    type: 'duration',
    min: 0,
    description: 'Time between checkpoint triggers; unset or 0 disables checkpointing.',
  },
  'execution.checkpointing.mode': {
    type: 'enum',
    default: 'exactly-once',
    values: {
      'exactly-once': 'exactly-once',
      exactly_once: 'exactly-once',
      'at-least-once': 'at-least-once',
      at_least_once: 'at-least-once',
    },
    description: 'exactly-once aligns barriers (blocks channels); at-least-once only counts them.',
  },
  'execution.checkpointing.timeout': {
    type: 'duration',
    default: 10 * MINUTE,
    min: 1,
    description: 'A checkpoint not complete after this long is aborted.',
  },
  'execution.checkpointing.min-pause': {
    type: 'duration',
    default: 0,
    min: 0,
    description: 'Least time between the end of one checkpoint and the trigger of the next.',
  },
  'execution.checkpointing.max-concurrent-checkpoints': {
    type: 'int',
    default: 1,
    min: 1,
    description: 'How many checkpoints may be in progress at once.',
  },
  'execution.checkpointing.tolerable-failed-checkpoints': {
    type: 'int',
    default: 0,
    min: 0,
    description: 'Consecutive checkpoint failures tolerated before the job fails.',
  },
  'execution.checkpointing.incremental': {
    type: 'boolean',
    default: false,
    aliases: ['state.backend.incremental'],
    description: 'Write only what changed since the previous checkpoint (a changelog delta), for the fs and level backends.',
  },
  'state.backend.level.cache-size': {
    type: 'memory',
    default: 16 * 1024 * 1024,
    min: 0,
    aliases: ['state.backend.rocksdb.block.cache-size'],
    description:
      "Bound of the level backend's cache of decoded values per subtask (estimated heap bytes); 0 keeps only the current batch's writes.",
  },
  'state.backend.incremental.materialization-interval': {
    type: 'int',
    default: 10,
    min: 1,
    description:
      'Incremental checkpoints: take a full materialisation every this many checkpoints (sooner when the deltas outgrow half of it), bounding the chain a restore reads.',
  },
  'execution.checkpointing.unaligned': {
    type: 'boolean',
    default: false,
    aliases: ['execution.checkpointing.unaligned.enabled'],
    description: 'exactly-once only: barriers overtake in-flight data, which is persisted as channel state (FLIP-76).',
  },
  'execution.checkpointing.aligned-checkpoint-timeout': {
    type: 'duration',
    default: 0,
    min: 0,
    aliases: ['execution.checkpointing.alignment-timeout'],
    description: 'exactly-once only: a task aligning longer than this switches the checkpoint to unaligned; 0 never switches.',
  },
  'state.backend.type': {
    type: 'enum',
    default: 'memory',
    aliases: ['state.backend'],
    values: { memory: 'memory', fs: 'fs', level: 'level' },
    hint: "floe's backends are memory and fs (heap state, like Flink's hashmap) and level (on disk, like Flink's rocksdb)",
    description: 'Where working state lives: memory, fs (heap, snapshots to files) or level (LevelDB).',
  },
  'state.backend.memory.max-snapshot-size': {
    type: 'memory',
    default: 5 * 1024 * 1024,
    min: 1,
    description: "Largest snapshot the memory backend keeps in the coordinator's memory.",
  },
  'state.checkpoints.dir': {
    type: 'string',
    aliases: ['execution.checkpointing.dir'],
    description: 'Directory for checkpoint files (fs and level backends).',
  },
  'state.checkpoints.num-retained': {
    type: 'int',
    default: 1,
    min: 1,
    aliases: ['execution.checkpointing.num-retained'],
    description: 'How many completed checkpoints to keep.',
  },
  'state.savepoints.dir': {
    type: 'string',
    aliases: ['execution.checkpointing.savepoint-dir'],
    description: 'Default directory for savepoints.',
  },
  'taskmanager.network.memory.buffers-per-channel': {
    type: 'int',
    default: 2,
    min: 1,
    description: 'Credits per channel: network buffers a producer may send before the consumer frees one.',
  },
  'taskmanager.network.batch-size': {
    type: 'int',
    default: 512,
    min: 1,
    description: 'Records per network buffer.',
  },
  'restart-strategy.type': {
    type: 'enum',
    aliases: ['restart-strategy'],
    // As Flink 1.19+: restart with exponential backoff when checkpointing is on, else fail at once.
    default: (conf) => ((conf.get('execution.checkpointing.interval') ?? 0) > 0 ? 'exponential-delay' : 'none'),
    values: {
      none: 'none',
      off: 'none',
      disable: 'none',
      'fixed-delay': 'fixed-delay',
      fixeddelay: 'fixed-delay',
      'failure-rate': 'failure-rate',
      failurerate: 'failure-rate',
      'exponential-delay': 'exponential-delay',
      exponentialdelay: 'exponential-delay',
    },
    description: 'How the job restarts after a failure; default exponential-delay with checkpointing, else none.',
  },
  'restart-strategy.fixed-delay.attempts': {
    type: 'int',
    default: 1,
    min: 0,
    description: 'Restarts before the job fails (fixed-delay).',
  },
  'restart-strategy.fixed-delay.delay': {
    type: 'duration',
    default: SECOND,
    min: 0,
    description: 'Wait before each restart (fixed-delay).',
  },
  'restart-strategy.failure-rate.max-failures-per-interval': {
    type: 'int',
    default: 1,
    min: 1,
    description: 'Failures allowed within the interval; one more fails the job (failure-rate).',
  },
  'restart-strategy.failure-rate.failure-rate-interval': {
    type: 'duration',
    default: MINUTE,
    min: 1,
    description: 'Sliding window over which failures are counted (failure-rate).',
  },
  'restart-strategy.failure-rate.delay': {
    type: 'duration',
    default: SECOND,
    min: 0,
    description: 'Wait before each restart (failure-rate).',
  },
  'restart-strategy.exponential-delay.initial-backoff': {
    type: 'duration',
    default: SECOND,
    min: 1,
    description: 'First wait before a restart (exponential-delay).',
  },
  'restart-strategy.exponential-delay.max-backoff': {
    type: 'duration',
    default: MINUTE,
    min: 1,
    description: 'Longest wait before a restart (exponential-delay).',
  },
  'restart-strategy.exponential-delay.backoff-multiplier': {
    type: 'number',
    default: 1.5,
    min: 1,
    description: 'Factor applied to the wait after each restart (exponential-delay).',
  },
  'restart-strategy.exponential-delay.reset-backoff-threshold': {
    type: 'duration',
    default: 60 * MINUTE,
    min: 1,
    description: 'Running this long after a restart resets the wait and the attempt count (exponential-delay).',
  },
  'restart-strategy.exponential-delay.jitter-factor': {
    type: 'number',
    default: 0.1,
    min: 0,
    max: 1,
    description: 'Random spread of each wait, as a fraction of it (exponential-delay).',
  },
  'restart-strategy.exponential-delay.attempts-before-reset-backoff': {
    type: 'int',
    default: Number.MAX_SAFE_INTEGER,
    min: 1,
    description: 'Restarts allowed before the backoff resets; one more fails the job (exponential-delay).',
  },
  'rest.address': {
    type: 'string',
    default: '127.0.0.1',
    description: 'Address the REST server binds to.',
  },
  'rest.port': {
    type: 'int',
    default: 8081,
    min: 0,
    max: 65535,
    description: 'Port of the REST server; 0 picks a free one.',
  },
  // savepoints and job operations (issue 5)
  'execution.savepoint.ignore-unclaimed-state': {
    type: 'boolean',
    default: false,
    aliases: ['execution.state-recovery.ignore-unclaimed-state'],
    description: 'Skip savepoint state whose uid matches no operator of the job (--allow-non-restored-state).',
  },
  'execution.savepoint-restore-mode': {
    type: 'enum',
    default: 'no-claim',
    aliases: ['execution.state-recovery.claim-mode'],
    values: { 'no-claim': 'no-claim', no_claim: 'no-claim', claim: 'claim' },
    description: "no-claim: the savepoint stays the user's; claim: the job owns it and deletes it once a checkpoint subsumes it.",
  },
  'rest.auth-token': {
    type: 'string',
    description: 'Bearer token required for mutating REST requests; required when rest.address is not loopback.',
  },
  'rest.savepoints.allowed-dirs': {
    type: 'string',
    description:
      'Comma-separated directories REST savepoint targets must be inside (default: state.savepoints.dir, else the working directory).',
  },
  'rest.server.max-content-length': {
    type: 'memory',
    default: 64 * 1024,
    min: 1,
    description: 'Largest REST request body accepted.',
  },
  'rest.cors.allowed-origins': {
    type: 'string',
    description:
      'Comma-separated origins (or *) other web pages may call the REST API from; unset: no CORS headers, and mutating requests from another origin are refused.',
  },
  'web.checkpoints.history': {
    type: 'int',
    default: 100,
    min: 1,
    max: 100_000,
    aliases: ['jobmanager.web.checkpoints.history'],
    description: "Checkpoints kept in the job's statistics (REST history, the dashboard's pages), newest kept; Flink's default is 10.",
  },
  // durable checkpoint storage, retention and recovery (issue 3)
  'execution.checkpointing.externalized-checkpoint-retention': {
    type: 'enum',
    default: 'NO_EXTERNALIZED_CHECKPOINTS',
    aliases: ['execution.externalized-checkpoint-retention'],
    values: {
      delete_on_cancellation: 'DELETE_ON_CANCELLATION',
      'delete-on-cancellation': 'DELETE_ON_CANCELLATION',
      retain_on_cancellation: 'RETAIN_ON_CANCELLATION',
      'retain-on-cancellation': 'RETAIN_ON_CANCELLATION',
      no_externalized_checkpoints: 'NO_EXTERNALIZED_CHECKPOINTS',
      'no-externalized-checkpoints': 'NO_EXTERNALIZED_CHECKPOINTS',
    },
    description:
      'What stays in state.checkpoints.dir when the job ends: deleted on cancel or finish (kept on failure), always kept, or never kept.',
  },
  'state.storage.fs.memory-threshold': {
    type: 'memory',
    default: 20 * 1024,
    min: 0,
    max: 1024 * 1024,
    aliases: ['state.backend.fs.memory-threshold'],
    description: 'State parts smaller than this are inlined into _metadata instead of written as files.',
  },
  'state.backend.local-recovery': {
    type: 'boolean',
    default: false,
    aliases: ['execution.state-recovery.from-local'],
    description: 'Keep a task-local copy of the last snapshot and restore from it first when a task restarts in the same process.',
  },
  'taskmanager.state.local.root-dirs': {
    type: 'string',
    description: 'Where task-local snapshot copies go (local recovery); default a floe folder in the OS temp directory.',
  },
  'state.backend.level.localdir': {
    type: 'string',
    aliases: ['state.backend.rocksdb.localdir'],
    description: "Directory of the level backend's working LevelDB databases; default a floe folder in the OS temp directory.",
  },
  'execution.state-recovery.path': {
    type: 'string',
    aliases: ['execution.savepoint.path'],
    description: 'Checkpoint or savepoint directory to start the job from (floe run --from-checkpoint / -s).',
  },
  'connector.nats.servers': {
    type: 'string',
    description: 'NATS server URLs (comma-separated) for JetStream sources and sinks built without servers.',
  },
  'connector.nats.user': {
    type: 'string',
    description: 'NATS user for JetStream sources and sinks built without user.',
  },
  'connector.nats.password': {
    type: 'string',
    description: 'NATS password for JetStream sources and sinks built without pass; never printed.',
  },
  'connector.postgres.url': {
    type: 'string',
    description: 'postgres:// connection string for PostgresSinks built without connectionString.',
  },
  'connector.postgres.password': {
    type: 'string',
    description: "Password for PostgresSinks, in place of the connection string's; never printed.",
  },
  'taskmanager.numberOfTaskSlots': {
    type: 'int',
    default: 1,
    min: 1,
    description: 'Slots of a TaskManager: a slot holds at most one subtask of each vertex (slot sharing).',
  },
  'slot.request.timeout': {
    type: 'duration',
    default: 5 * MINUTE,
    min: 1,
    description: 'How long a job waits for enough slots before it fails.',
  },
  'heartbeat.interval': {
    type: 'duration',
    default: 10 * SECOND,
    min: 1,
    description: 'Time between heartbeats of the JobManager and its TaskManagers.',
  },
  'heartbeat.timeout': {
    type: 'duration',
    default: 50 * SECOND,
    min: 1,
    description: 'A TaskManager not heard of for this long is lost: its subtasks count as failed.',
  },
  'cluster.auth-token': {
    type: 'string',
    description: 'Token a TaskManager presents to register (needed when the JobManager binds off loopback).',
  },
};

export const CONFIG_KEYS = Object.keys(CONFIG_OPTIONS) as ConfigKey[];

const BY_ALIAS = new Map<string, ConfigKey>(
  CONFIG_KEYS.flatMap((key) => (CONFIG_OPTIONS[key].aliases ?? []).map((alias) => [alias, key] as const)),
);

/** The canonical key for a key or one of its aliases, or undefined for an unknown key. */
export function canonicalKey(key: string): ConfigKey | undefined {
  return Object.hasOwn(CONFIG_OPTIONS, key) ? (key as ConfigKey) : BY_ALIAS.get(key);
}
