// What floe's REST API promises: the response shapes of Flink's REST API (v1) it serves, as JSON Schema (fields and types).
// Written from Flink's response bodies (JobDetailsInfo, CheckpointingStatistics, JobVertexBackPressureInfo, ...): every field
// listed is present with that type; floe may add fields of its own (named in the views with a `floe:` comment).

type Schema = Record<string, unknown>;

const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const obj = (properties: Record<string, Schema>, extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  ...extra,
});
const arr = (items: Schema): Schema => ({ type: 'array', items });
const map = (values: Schema): Schema => ({ type: 'object', additionalProperties: values });

const hex32: Schema = { type: 'string', pattern: '^[0-9a-f]{32}$' };
const JOB_STATUS: Schema = {
  enum: [
    'INITIALIZING',
    'CREATED',
    'RUNNING',
    'FAILING',
    'FAILED',
    'CANCELLING',
    'CANCELED',
    'FINISHED',
    'RESTARTING',
    'SUSPENDED',
    'RECONCILING',
    'STOPPING',
  ],
};
const EXECUTION_STATE_NAMES = [
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
  'RECONCILING',
  'INITIALIZING',
];
const EXECUTION_STATE: Schema = { enum: EXECUTION_STATE_NAMES };
const stateCounts = (names: string[]): Schema => obj(Object.fromEntries(names.map((n) => [n, int])));
const times = { 'start-time': int, 'end-time': int, duration: int };

const ioMetrics = obj({
  'read-bytes': int,
  'read-bytes-complete': bool,
  'write-bytes': int,
  'write-bytes-complete': bool,
  'read-records': int,
  'read-records-complete': bool,
  'write-records': int,
  'write-records-complete': bool,
  'accumulated-backpressured-time': int,
  'accumulated-idle-time': int,
  'accumulated-busy-time': num,
});

const plan = obj({
  jid: hex32,
  name: str,
  type: str,
  nodes: arr(
    obj({
      id: hex32,
      parallelism: int,
      operator: str,
      operator_strategy: str,
      description: str,
      inputs: arr(obj({ num: int, id: hex32, ship_strategy: str, exchange: str })),
      optimizer_properties: { type: 'object' },
    }),
  ),
});

/** StatsSummaryDto: integers */
const summary = obj({ min: int, max: int, avg: int, p50: int, p90: int, p95: int, p99: int, p999: int });

const taskCheckpointStats = obj({
  id: int,
  status: { enum: ['IN_PROGRESS', 'COMPLETED', 'FAILED'] },
  latest_ack_timestamp: int,
  checkpointed_size: int,
  state_size: int,
  end_to_end_duration: int,
  alignment_buffered: int,
  processed_data: int,
  persisted_data: int,
  num_subtasks: int,
  num_acknowledged_subtasks: int,
});

const checkpointCommon = {
  className: { enum: ['completed', 'failed', 'in_progress'] },
  id: int,
  status: { enum: ['IN_PROGRESS', 'COMPLETED', 'FAILED'] },
  is_savepoint: bool,
  savepointFormat: nullable(str),
  trigger_timestamp: int,
  latest_ack_timestamp: int,
  checkpointed_size: int,
  state_size: int,
  end_to_end_duration: int,
  alignment_buffered: int,
  processed_data: int,
  persisted_data: int,
  num_subtasks: int,
  num_acknowledged_subtasks: int,
  checkpoint_type: { enum: ['CHECKPOINT', 'UNALIGNED_CHECKPOINT', 'SAVEPOINT', 'SYNC_SAVEPOINT'] },
  tasks: map(taskCheckpointStats),
};
/** CheckpointStatistics, discriminated by `className` as Flink's Jackson subtypes */
export const checkpointStatistics: Schema = {
  oneOf: [
    obj({ ...checkpointCommon, className: { const: 'completed' }, external_path: nullable(str), discarded: bool }),
    obj({ ...checkpointCommon, className: { const: 'failed' }, failure_timestamp: int, failure_message: nullable(str) }),
    obj({ ...checkpointCommon, className: { const: 'in_progress' } }),
  ],
};

const asyncOperation = obj({ status: obj({ id: { enum: ['IN_PROGRESS', 'COMPLETED'] } }) });
const failureCause = obj({ class: str, 'stack-trace': str });

/** The response schema of every GET endpoint, by Flink's path. */
export const RESPONSE_SCHEMAS: Record<string, Schema> = {
  '/config': obj({
    'refresh-interval': int,
    'timezone-name': str,
    'timezone-offset': int,
    'flink-version': str,
    'flink-revision': str,
    features: obj({ 'web-submit': bool, 'web-cancel': bool, 'web-rescale': bool, 'web-history': bool }),
  }),
  '/overview': obj({
    taskmanagers: int,
    'slots-total': int,
    'slots-available': int,
    'jobs-running': int,
    'jobs-finished': int,
    'jobs-cancelled': int,
    'jobs-failed': int,
    'flink-version': str,
    'flink-commit': str,
  }),
  '/taskmanagers': obj({
    taskmanagers: arr(
      obj({
        id: str,
        path: str,
        dataPort: int,
        jmxPort: int,
        timeSinceLastHeartbeat: int,
        slotsNumber: int,
        freeSlots: int,
        totalResource: { type: 'object' },
        freeResource: { type: 'object' },
        hardware: { type: 'object' },
        memoryConfiguration: { type: 'object' },
      }),
    ),
  }),
  '/jobs': obj({ jobs: arr(obj({ id: hex32, status: JOB_STATUS })) }),
  '/jobs/overview': obj({
    jobs: arr(
      obj({
        jid: hex32,
        name: str,
        state: JOB_STATUS,
        ...times,
        'last-modification': int,
        tasks: stateCounts(['total', ...EXECUTION_STATE_NAMES.map((s) => s.toLowerCase())]),
      }),
    ),
  }),
  '/jobs/metrics': arr(obj({ id: str })),
  '/jobs/:jobid': obj({
    jid: hex32,
    name: str,
    isStoppable: bool,
    state: JOB_STATUS,
    'job-type': { enum: ['STREAMING', 'BATCH'] },
    ...times,
    maxParallelism: int,
    now: int,
    timestamps: map(int),
    vertices: arr(
      obj({
        id: hex32,
        name: str,
        maxParallelism: int,
        parallelism: int,
        status: EXECUTION_STATE,
        ...times,
        tasks: stateCounts(EXECUTION_STATE_NAMES),
        metrics: ioMetrics,
      }),
    ),
    'status-counts': stateCounts(EXECUTION_STATE_NAMES),
    plan,
  }),
  '/jobs/:jobid/status': obj({ status: JOB_STATUS }),
  '/jobs/:jobid/plan': obj({ plan }),
  '/jobs/:jobid/config': obj({
    jid: hex32,
    name: str,
    'execution-config': obj({
      'execution-mode': str,
      'restart-strategy': str,
      'job-parallelism': int,
      'object-reuse-mode': bool,
      'user-config': map(str),
    }),
  }),
  '/jobs/:jobid/exceptions': obj({
    'root-exception': nullable(str),
    timestamp: nullable(int),
    'all-exceptions': arr({ type: 'object' }),
    truncated: bool,
    exceptionHistory: obj({
      entries: arr(
        obj({
          exceptionName: str,
          stacktrace: str,
          timestamp: int,
          taskName: nullable(str),
          endpoint: nullable(str),
          taskManagerId: nullable(str),
          failureLabels: map(str),
          concurrentExceptions: arr({ type: 'object' }),
        }),
      ),
      truncated: bool,
    }),
  }),
  '/jobs/:jobid/execution-result': {
    oneOf: [
      obj({ status: obj({ id: { const: 'IN_PROGRESS' } }) }, { additionalProperties: false }),
      obj({
        status: obj({ id: { const: 'COMPLETED' } }),
        'job-execution-result': obj({
          id: hex32,
          'application-status': { enum: ['SUCCEEDED', 'FAILED', 'CANCELED', 'UNKNOWN'] },
          'accumulator-results': { type: 'object' },
          'net-runtime': int,
        }),
      }),
    ],
  },
  '/jobs/:jobid/vertices/:vertexid': obj({
    id: hex32,
    name: str,
    parallelism: int,
    maxParallelism: int,
    now: int,
    subtasks: arr(
      obj({
        subtask: int,
        status: EXECUTION_STATE,
        attempt: int,
        endpoint: str,
        ...times,
        metrics: ioMetrics,
        'taskmanager-id': str,
        'status-duration': { type: 'object' },
        // floe's promise beyond Flink's: the task loop's times, the actor's live state
        busyTimeMsPerSecond: int,
        backPressuredTimeMsPerSecond: int,
        idleTimeMsPerSecond: int,
        'actor-state': str,
      }),
    ),
  }),
  '/jobs/:jobid/vertices/:vertexid/backpressure': obj({
    status: { enum: ['deprecated', 'ok'] },
    backpressureLevel: { enum: ['ok', 'low', 'high'] },
    'end-timestamp': int,
    subtasks: arr(
      obj({
        subtask: int,
        'attempt-number': int,
        backpressureLevel: { enum: ['ok', 'low', 'high'] },
        ratio: num,
        idleRatio: num,
        busyRatio: num,
      }),
    ),
  }),
  '/jobs/:jobid/vertices/:vertexid/watermarks': arr(obj({ id: str, value: str })),
  /** with ?get=: aggregated over the subtasks; without: the metric names ({id} only) */
  '/jobs/:jobid/vertices/:vertexid/subtasks/metrics': arr({
    anyOf: [obj({ id: str, min: num, max: num, avg: num, sum: num }), obj({ id: str })],
  }),
  '/jobs/:jobid/checkpoints': obj({
    counts: obj({ restored: int, total: int, in_progress: int, completed: int, failed: int }),
    summary: obj({
      checkpointed_size: summary,
      state_size: summary,
      end_to_end_duration: summary,
      alignment_buffered: summary,
      processed_data: summary,
      persisted_data: summary,
    }),
    latest: obj({
      completed: nullable(checkpointStatistics),
      savepoint: nullable(checkpointStatistics),
      failed: nullable(checkpointStatistics),
      restored: nullable(obj({ id: int, restore_timestamp: int, is_savepoint: bool, external_path: str })),
    }),
    history: arr(checkpointStatistics),
  }),
  '/jobs/:jobid/checkpoints/config': obj({
    mode: { enum: ['exactly_once', 'at_least_once'] },
    interval: int,
    timeout: int,
    min_pause: int,
    max_concurrent: int,
    externalization: obj({ enabled: bool, delete_on_cancellation: bool }),
    state_backend: str,
    checkpoint_storage: str,
    unaligned_checkpoints: bool,
    tolerable_failed_checkpoints: int,
    aligned_checkpoint_timeout: int,
    checkpoints_after_tasks_finish: bool,
    state_changelog_enabled: bool,
    changelog_periodic_materialization_interval: int,
    changelog_storage: str,
  }),
  '/jobs/:jobid/checkpoints/details/:checkpointid': checkpointStatistics,
  '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid': {
    allOf: [
      taskCheckpointStats,
      obj({
        summary: obj({
          state_size: summary,
          checkpointed_size: summary,
          end_to_end_duration: summary,
          checkpoint_duration: obj({ sync: summary, async: summary }),
          alignment: obj({ buffered: summary, processed: summary, persisted: summary, duration: summary }),
          start_delay: summary,
        }),
        subtasks: arr({
          oneOf: [
            obj({
              index: int,
              status: { const: 'completed' },
              ack_timestamp: int,
              end_to_end_duration: int,
              state_size: int,
              checkpointed_size: int,
              checkpoint: obj({ sync: int, async: int }),
              alignment: obj({ buffered: int, processed: int, persisted: int, duration: int }),
              start_delay: int,
              unaligned_checkpoint: bool,
              aborted: bool,
            }),
            obj({ index: int, status: { const: 'pending_or_failed' } }),
          ],
        }),
      }),
    ],
  },
  '/jobs/:jobid/savepoints/:triggerid': {
    oneOf: [
      obj({ status: obj({ id: { const: 'IN_PROGRESS' } }) }, { additionalProperties: false }),
      obj({
        status: obj({ id: { const: 'COMPLETED' } }),
        operation: { oneOf: [obj({ location: str }), obj({ 'failure-cause': failureCause })] },
      }),
    ],
  },
  '/savepoint-disposal/:triggerid': {
    allOf: [asyncOperation, { if: obj({ status: obj({ id: { const: 'COMPLETED' } }) }), then: obj({ operation: { type: 'object' } }) }],
  },
};

/** The response of every POST and PATCH that starts an asynchronous operation. */
export const TRIGGER_RESPONSE: Schema = obj({ 'request-id': hex32 });
/** Every error: Flink's `errors`, floe's stable code and hint. */
export const ERROR_RESPONSE: Schema = obj({ errors: arr(str), code: { type: 'string', pattern: '^FLOE_[A-Z0-9_]+$' } });
