// The execution environment: configuration, sources, and execute()/executeAsync().
import { randomBytes } from 'node:crypto';
import { loadStateBackend } from '../backends/state-backend-loader.ts';
import { checkpointConfigFrom } from '../config/checkpoint-config.ts';
import { Configuration } from '../config/configuration.ts';
import type { WatermarkStrategy } from '../operators/watermark-strategy.ts';
import { SourceTimestampsAndWatermarksOperator } from '../operators/source-timestamps-and-watermarks-operator.ts';
import { CollectionSource } from '../connectors/collection-source.ts';
import { SequenceSource } from '../connectors/sequence-source.ts';
import { TextFileSource } from '../connectors/text-file-source.ts';
import type { RestorePoint } from '../savepoints/restore-point.ts';
import type { StateBackend } from '../backends/types.ts';
import { createCheckpointStorage } from '../storage/checkpoint-storage-factory.ts';
import { JobMaster, type JobResult, type JobSettings } from '../coordinator/job-master.ts';
import { restartStrategyFrom } from '../coordinator/restart-strategy.ts';
import { buildJobGraph, type JobGraph } from '../graph/job-graph.ts';
import type { Transformation } from '../graph/transformation.ts';
import type { Source } from '../operators/operator.ts';
import { DataStream, type TransformationRegistry } from './data-stream.ts';
import type { InspectionOptions, InspectOption } from './inspection.ts';
import { JobClient } from './job-client.ts';

/** Job ids as Flink's: 32 hex digits (never starting with '-', which a CLI would read as an option). */
const newJobId = () => randomBytes(16).toString('hex');

export class StreamExecutionEnvironment implements TransformationRegistry {
  /** the pipeline built since the last execute: each job runs what was built for it, once (Flink clears them too) */
  #transformations: Transformation[] = [];
  /** ids keep growing across jobs, so a stream kept from an earlier pipeline still sorts before what reads it */
  #nextId = 0;
  #inspect: InspectOption | undefined;
  #inspectOptions: InspectionOptions = {};
  #backend: StateBackend | undefined;
  #createExecution: JobSettings['createExecution'];
  config: Configuration;

  constructor(config: Configuration | Record<string, unknown> = {}) {
    this.config = config instanceof Configuration ? config : new Configuration(config);
  }

  /** Flink's entry point; `config` takes Flink's keys (`execution.checkpointing.interval`, ...). */
  static getExecutionEnvironment(config?: Configuration | Record<string, unknown>): StreamExecutionEnvironment {
    return new StreamExecutionEnvironment(config);
  }

  add(t: Omit<Transformation, 'id'>): Transformation {
    const transformation = { ...t, id: this.#nextId++ } as Transformation;
    this.#transformations.push(transformation);
    return transformation;
  }

  get transformations(): readonly Transformation[] {
    return this.#transformations;
  }

  /** Sets configuration keys; unknown keys and bad values throw a ConfigError. */
  configure(entries: Record<string, unknown>): this {
    for (const [k, v] of Object.entries(entries)) this.config.set(k, v);
    return this;
  }

  setParallelism(parallelism: number): this {
    return this.configure({ 'parallelism.default': parallelism });
  }

  getParallelism(): number {
    return this.config.get('parallelism.default');
  }

  setMaxParallelism(maxParallelism: number): this {
    return this.configure({ 'pipeline.max-parallelism': maxParallelism });
  }

  enableCheckpointing(intervalMs: number, mode: 'exactly-once' | 'at-least-once' = 'exactly-once'): this {
    return this.configure({ 'execution.checkpointing.interval': intervalMs, 'execution.checkpointing.mode': mode });
  }

  /** A preset by name, or a backend object (its snapshots go to files when state.checkpoints.dir is set). */
  setStateBackend(backend: 'memory' | 'fs' | 'level' | StateBackend): this {
    if (typeof backend !== 'string') {
      this.#backend = backend;
      return this;
    }
    this.#backend = undefined;
    return this.configure({ 'state.backend.type': backend });
  }

  /** Streams the task actors' inspection events to a callback or a websocket inspector URL. */
  setInspector(inspect: InspectOption | undefined, options: InspectionOptions = {}): this {
    this.#inspect = inspect;
    this.#inspectOptions = options;
    return this;
  }

  /** Where the job's tasks run: this process (the default), or a cluster's TaskManagers (`floe run --taskmanagers`). */
  setExecution(createExecution: JobSettings['createExecution']): this {
    this.#createExecution = createExecution;
    return this;
  }

  /**
   * A stream read from `source`; with a WatermarkStrategy (Flink's fromSource(source, strategy, name)),
   * timestamps and watermarks are generated inside each source subtask, chained to its reader, and per
   * split for a reader that emits per split (`ReaderOutput.forSplit`): the subtask's watermark is the
   * minimum over its splits' watermarks.
   */
  fromSource<T>(source: Source<T>, strategyOrName?: WatermarkStrategy<T> | string, name?: string): DataStream<T> {
    const strategy = typeof strategyOrName === 'string' ? undefined : strategyOrName;
    const label = (typeof strategyOrName === 'string' ? strategyOrName : name) ?? source.name;
    const t = this.add({ kind: 'source', name: label, source: source as Source<unknown> });
    const stream = new DataStream<T>(this, t);
    if (!strategy) return stream;
    if (typeof strategy.createGenerator !== 'function')
      throw new TypeError('fromSource takes a WatermarkStrategy, e.g. WatermarkStrategy.forBoundedOutOfOrderness("2s"), or a name');
    // named as assignTimestampsAndWatermarks' operator, so the generated uids behind it stay what they were
    return stream.transform('Timestamps/Watermarks', () => new SourceTimestampsAndWatermarksOperator<T>(strategy));
  }

  /** The numbers from `from` to `to`, inclusive, split among the source's subtasks. */
  fromSequence(from: number, to: number): DataStream<number> {
    return this.fromSource(new SequenceSource(from, to), 'Sequence Source');
  }

  /** The items, in order (a non-parallel source). */
  fromCollection<T>(items: Iterable<T>): DataStream<T> {
    const stream = this.fromSource(new CollectionSource<T>([...items]), 'Collection Source');
    stream.transformation.fixedParallelism = 1;
    return stream;
  }

  /** The file's lines; the read position is checkpointed, so a restore resumes exactly. */
  readTextFile(path: string): DataStream<string> {
    return this.fromSource(new TextFileSource(path), 'Text File Source');
  }

  /** The job graph this environment would run (operators chained into tasks). */
  getJobGraph(): JobGraph {
    return buildJobGraph(withInputs(this.#transformations), this.getParallelism(), this.config.get('pipeline.max-parallelism'));
  }

  /**
   * Validates the job and starts it; the client gives its id, status, checkpoints, cancel and result.
   * The pipeline built so far is taken by this job: the next execute runs only what is built after.
   */
  async executeAsync(jobName = 'floe job'): Promise<JobClient> {
    const taken = withInputs(this.#transformations);
    const graph = this.getJobGraph();
    for (const t of taken) {
      t.source?.configure?.(this.config);
      t.sink?.configure?.(this.config);
      t.source?.validate?.();
      t.sink?.validate?.();
    }
    this.#transformations = [];
    try {
      return await this.#submit(graph, jobName);
    } catch (error) {
      // not submitted (a bad savepoint, a missing checkpoint): the pipeline stays for the next try
      if (this.#transformations.length === 0) this.#transformations = taken;
      throw error;
    }
  }

  async #submit(graph: JobGraph, jobName: string): Promise<JobClient> {
    const checkpoint = checkpointConfigFrom(this.config);
    const type = this.config.get('state.backend.type');
    // the preset's code is loaded here, for the preset the job names: a memory job never loads LevelDB's
    const backend =
      this.#backend ??
      (await loadStateBackend(type, {
        incremental: this.config.get('execution.checkpointing.incremental'),
        localDir: this.config.get('state.backend.level.localdir'),
        materializationInterval: this.config.get('state.backend.incremental.materialization-interval'),
        cacheBytes: this.config.get('state.backend.level.cache-size'),
      }));
    // a savepoint or retained checkpoint is validated and matched to the job's uids before any task starts;
    // its state files are read from where they are
    const recoveryPath = this.config.get('execution.state-recovery.path');
    const allowNonRestoredState = this.config.get('execution.savepoint.ignore-unclaimed-state');
    // loaded only to restore: a fresh job's start-up skips it
    const restore: RestorePoint | null = recoveryPath
      ? await (await import('../savepoints/restore-point.ts')).loadRestorePoint(recoveryPath, graph, { allowNonRestoredState })
      : null;
    const fromSavepoint = restore?.kind === 'savepoint';
    const restartStrategy = restartStrategyFrom(this.config); // a bad one is refused before anything is made on disk
    const jobId = newJobId();
    const files = this.#backend ? this.config.get('state.checkpoints.dir') !== undefined : type !== 'memory';
    // the backend's local directories are checked before any task starts, as the checkpoint directory is
    await backend.prepareJob?.(jobId);
    let storage;
    try {
      storage = await createCheckpointStorage(this.config, jobId, files);
    } catch (error) {
      await backend.releaseJob?.(jobId);
      throw error;
    }
    // a run killed before its first checkpoint completes is resumed from where this one was restored from
    if (restore) await storage.recordRestoreOrigin?.({ kind: restore.kind, path: restore.path, checkpointId: restore.checkpoint.id });
    const inspection =
      this.#inspect === undefined
        ? undefined
        : await (await import('./inspection.ts')).createInspection(this.#inspect, this.#inspectOptions);
    // restore mode claim: the job deletes the savepoint once a checkpoint of its own completes
    const claim =
      fromSavepoint && this.config.get('execution.savepoint-restore-mode') === 'claim'
        ? (await import('../savepoints/savepoint-operations.ts')).claimSavepoint
        : undefined;
    const master = new JobMaster(jobId, jobName, graph, {
      checkpoint,
      backend,
      storage,
      restartStrategy,
      batchSize: this.config.get('taskmanager.network.batch-size'),
      autoWatermarkInterval: this.config.get('pipeline.auto-watermark-interval'),
      buffersPerChannel: this.config.get('taskmanager.network.memory.buffers-per-channel'),
      inspect: inspection?.inspect,
      restore: restore?.checkpoint ?? null,
      restoresSavepoint: fromSavepoint,
      ...(this.#createExecution ? { createExecution: this.#createExecution } : {}),
    });
    const stop = () => inspection?.stop();
    master.result.then(stop, stop);
    if (claim) claim(master, restore!.path);
    master.start();
    return new JobClient(master, graph.generatedUids, undefined, {
      savepointsDir: this.config.get('state.savepoints.dir'),
      restoredFrom: restore,
    });
  }

  /** Runs the job to the end (sources exhausted) and returns its result; rejects if it fails for good. */
  async execute(jobName?: string): Promise<JobResult> {
    const client = await this.executeAsync(jobName);
    return client.getJobExecutionResult();
  }
}

/**
 * The transformations and every input they read, oldest first: a stream kept from a pipeline that
 * already ran brings its upstream along again (as Flink's graph generator walks inputs).
 */
function withInputs(transformations: readonly Transformation[]): Transformation[] {
  const all = new Set<Transformation>();
  const visit = (t: Transformation) => {
    if (all.has(t)) return;
    all.add(t);
    for (const input of [t.input, ...(t.extraInputs ?? [])]) if (input) visit(input.transformation);
  };
  transformations.forEach(visit);
  return [...all].sort((a, b) => a.id - b.id);
}
