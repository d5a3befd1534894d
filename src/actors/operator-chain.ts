// The operators of one task, chained: each one's output is the next one's input, no queue between them.
import { keyGroupRangeForSubtask } from '../backends/key-groups.ts';
import { OperatorStateStore } from '../backends/operator-state-store.ts';
import type { KeyedStateBackend, SnapshotRunner, StateBackend, StateHandle } from '../backends/types.ts';
import type { OperatorState } from '../checkpoint/completed-checkpoint.ts';
import type { CheckpointStorage } from '../storage/types.ts';
import type { KeySelector, Transformation } from '../graph/transformation.ts';
import { runLoop } from './scheduler.ts';
import type { OperatorContext, Output, ReaderOutput, RuntimeContext, SourceReader, StreamOperator } from '../operators/operator.ts';
import type { TaskStateSnapshot } from '../checkpoint/state-handles.ts';
import { RecordTimestamp } from '../operators/event-time.ts';

export interface ChainMember {
  readonly uid: string;
  readonly name: string;
  readonly operator: StreamOperator<unknown, unknown>;
  readonly keySelector: KeySelector | undefined;
  readonly keyed: KeyedStateBackend | null;
  readonly store: OperatorStateStore;
}

export interface ChainSetup {
  runtime: Omit<RuntimeContext, 'operatorUid'>;
  backend: StateBackend;
  storage: Pick<CheckpointStorage, 'forSubtask'>;
  checkpointingEnabled: boolean;
  restore: { checkpointId: number; operators: Record<string, OperatorState> } | null;
  /** `pipeline.auto-watermark-interval` in ms */
  autoWatermarkInterval?: number;
}

/** The synchronous part of a chain snapshot: operator state copied, keyed state captured. */
export interface ChainSnapshot {
  operators: Array<{ uid: string; operator: ReturnType<OperatorStateStore['snapshot']>; keyed: SnapshotRunner | null }>;
  /** operators' own asynchronous parts (a sink's pre-commit), awaited before the acknowledgement */
  pending: Promise<void>[];
}

/** Asked by backends that read in the background (a level snapshot's scan): how busy the process's run loop is. */
const runLoopBusy = (): boolean => runLoop.busy;

/**
 * An input that sets the current key before the record reaches a keyed operator; watermarks go to the operator or straight on.
 * An unkeyed operator's input is its own `processElement`, bound: one closure shared by every member
 * would make each operator's call to the next one megamorphic (every operator class behind one call
 * site), while a bound function is a call target V8 can check and inline at the calling operator.
 */
function keyedInput(member: ChainMember, next: Output<unknown>, watermarks: { handed: number }): Output<unknown> {
  const { operator, keySelector, keyed } = member;
  const emitWatermark = operator.processWatermark
    ? (ts: number) => {
        watermarks.handed++;
        operator.processWatermark!(ts);
      }
    : (ts: number) => next.emitWatermark?.(ts);
  const emitWatermarkStatus = (status: 'idle' | 'active') => next.emitWatermarkStatus?.(status);
  if (!keySelector || !keyed) return { collect: operator.processElement.bind(operator), emitWatermark, emitWatermarkStatus };
  return {
    collect(record) {
      keyed.setCurrentKey(keySelector(record));
      operator.processElement(record);
    },
    emitWatermark,
    emitWatermarkStatus,
  };
}

/**
 * The link to a chained operator that reads a side output of the one before it: that side output's
 * records become its input; the main output and other side outputs are dropped (nothing else reads them).
 */
function sideOutputInput(tag: string, next: Output<unknown>): Output<unknown> {
  return {
    collect: () => {},
    sideOutput: (t, record) => {
      if (t === tag) next.collect(record);
    },
    emitWatermark: (ts) => next.emitWatermark?.(ts),
    emitWatermarkStatus: (status) => next.emitWatermarkStatus?.(status),
  };
}

/** The reader's output: per split where the operator behind the source reads per split (fromSource's per-split watermarks). */
function readerOutput(operator: StreamOperator<unknown, unknown>, input: Output<unknown>): ReaderOutput<unknown> {
  if (!operator.forSplit) return input;
  return { ...input, forSplit: (id) => operator.forSplit!(id), releaseSplit: (id) => operator.releaseSplit?.(id) };
}

export class OperatorChain {
  readonly members: ChainMember[];
  readonly source: { uid: string; reader: SourceReader<unknown>; store: OperatorStateStore } | null;
  /** where the task feeds input records (or the source emits) */
  head!: Output<unknown>;
  /** the timestamp of the record in hand (event time), shared with the task's output writer */
  readonly timestamp = new RecordTimestamp();
  /** members that act on processing time */
  #timed: ChainMember[] = [];
  /** watermarks handed to operators that handle them (an operator whose timers fire late hands its watermark on late) */
  readonly #watermarks = { handed: 0 };
  /** per member, the side output of the member before it that it reads (null: the main output) */
  readonly #tags: ReadonlyArray<string | null>;

  /** `chainTags`: per transformation, the output of the one before it that it reads (the job vertex's `chainTags`) */
  constructor(transformations: Transformation[], setup: ChainSetup, chainTags: ReadonlyArray<string | null> = []) {
    const { runtime, backend, storage } = setup;
    const first = transformations[0]!;
    this.source =
      first.kind === 'source' ? { uid: first.uid!, reader: first.source!.createReader(), store: new OperatorStateStore() } : null;
    const ops = this.source ? transformations.slice(1) : transformations;
    this.#tags = ops.map((_, i) => chainTags[this.source ? i + 1 : i] ?? null);
    this.members = ops.map((t) => ({
      uid: t.uid!,
      name: t.name,
      operator: t.kind === 'sink' ? t.sink!.createWriter() : t.createOperator!(),
      keySelector: t.keySelector,
      keyed: t.keySelector
        ? backend.createKeyedBackend({
            jobId: runtime.jobId,
            operatorUid: t.uid!,
            subtaskIndex: runtime.subtaskIndex,
            maxParallelism: runtime.maxParallelism,
            keyGroupRange: keyGroupRangeForSubtask(runtime.maxParallelism, runtime.parallelism, runtime.subtaskIndex),
            storage: storage.forSubtask(t.uid!, runtime.subtaskIndex),
            runLoopBusy,
          })
        : null,
      store: new OperatorStateStore(),
    }));
  }

  /** Restores state (matched by uid), then opens every operator, last first so outputs exist. */
  async restoreAndOpen(setup: ChainSetup, output: Output<unknown>, requestWake?: () => void): Promise<void> {
    const { runtime, restore } = setup;
    const restoredCheckpointId = restore?.checkpointId ?? null;
    const stateOf = (uid: string) => restore?.operators[uid];
    if (this.source) {
      const s = stateOf(this.source.uid);
      if (s)
        this.source.store.restore(
          s.subtasks.map((x) => x?.operator ?? {}),
          runtime.subtaskIndex,
          runtime.parallelism,
        );
    }
    for (const m of this.members) {
      const s = stateOf(m.uid);
      if (!s) continue;
      m.store.restore(
        s.subtasks.map((x) => x?.operator ?? {}),
        runtime.subtaskIndex,
        runtime.parallelism,
      );
      if (m.keyed) {
        // same parallelism: only this subtask's own snapshot holds its key groups
        const own = s.parallelism === runtime.parallelism ? [s.subtasks[runtime.subtaskIndex]] : s.subtasks;
        const handles = own.map((x) => x?.keyed).filter((h): h is StateHandle => !!h);
        await m.keyed.restore(handles);
      }
    }
    const context = (uid: string, keyed: KeyedStateBackend | null, store: OperatorStateStore): OperatorContext => ({
      ...runtime,
      operatorUid: uid,
      keyedState: keyed,
      operatorState: store,
      restoredCheckpointId,
      checkpointingEnabled: setup.checkpointingEnabled,
      elementTimestamp: this.timestamp,
      autoWatermarkInterval: setup.autoWatermarkInterval ?? 200,
      requestWake,
    });
    let next: Output<unknown> = output;
    for (let i = this.members.length - 1; i >= 0; i--) {
      const m = this.members[i]!;
      await m.operator.open(context(m.uid, m.keyed, m.store), next);
      next = keyedInput(m, next, this.#watermarks);
      if (i === 0 && this.source) next = readerOutput(m.operator, next);
      const tag = this.#tags[i];
      if (tag != null) next = sideOutputInput(tag, next);
    }
    this.#timed = this.members.filter((m) => m.operator.onProcessingTime);
    this.head = next;
    if (this.source) await this.source.reader.open(context(this.source.uid, null, this.source.store));
  }

  /** Event time: a watermark for the head of the chain; each operator handles it fully before the next sees it. */
  processWatermark(timestamp: number): void {
    this.head.emitWatermark?.(timestamp);
  }

  /** Processing time: operators fire their due processing-time timers (some may go on asynchronously: see endBatch). */
  onProcessingTime(now: number): void {
    for (const m of this.#timed) m.operator.onProcessingTime!(now);
  }

  /** records the chain's window operators dropped as too late (Flink's numLateRecordsDropped) */
  get lateRecordsDropped(): number {
    let n = 0;
    for (const m of this.members) n += (m.operator as { numLateRecordsDropped?: number }).numLateRecordsDropped ?? 0;
    return n;
  }

  get hasProcessingTime(): boolean {
    return this.#timed.length > 0;
  }

  /**
   * Runs after every data batch, and after a watermark or processing time when timers fire
   * asynchronously (level): lets buffering backends write their batch and busy operators finish.
   * Until nothing is pending: an operator's timers firing late pass its watermark on to the next
   * operator then, whose own timers may fire asynchronously in turn.
   */
  endBatch(): Promise<void> | undefined {
    const handed = this.#watermarks.handed;
    const pending = this.#endBatchOnce();
    return pending && pending.then(() => (this.#watermarks.handed !== handed ? this.endBatch() : undefined));
  }

  #endBatchOnce(): Promise<void> | undefined {
    let pending: Promise<unknown>[] | undefined;
    for (const m of this.members) {
      const r = m.keyed?.endBatch();
      if (r) (pending ??= []).push(r);
      const o = m.operator.endBatch?.();
      if (o) (pending ??= []).push(o);
    }
    return pending && Promise.all(pending).then(() => undefined);
  }

  snapshot(checkpointId: number): ChainSnapshot {
    const operators: ChainSnapshot['operators'] = [];
    const pending: Promise<void>[] = [];
    if (this.source) {
      this.source.reader.snapshotState(checkpointId);
      operators.push({ uid: this.source.uid, operator: this.source.store.snapshot(), keyed: null });
    }
    for (const m of this.members) {
      const part = m.operator.snapshotState?.(checkpointId);
      if (part) pending.push(part);
      operators.push({ uid: m.uid, operator: m.store.snapshot(), keyed: m.keyed?.snapshot(checkpointId) ?? null });
    }
    return { operators, pending };
  }

  /** The asynchronous part: runs every keyed runner and assembles the task's state. */
  static async complete(snapshot: ChainSnapshot): Promise<{ state: TaskStateSnapshot; size: number }> {
    const [handles] = await Promise.all([
      Promise.all(snapshot.operators.map((o) => o.keyed?.run() ?? null)),
      Promise.all(snapshot.pending),
    ]);
    const state: TaskStateSnapshot = {};
    let size = 0;
    snapshot.operators.forEach((o, i) => {
      const keyed = handles[i] ?? null;
      size += keyed?.size ?? 0;
      state[o.uid] = { keyed, operator: o.operator };
    });
    return { state, size };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    for (const m of this.members) {
      m.keyed?.notifyCheckpointComplete?.(checkpointId); // incremental backends build the next delta on this checkpoint
      await m.operator.notifyCheckpointComplete?.(checkpointId);
    }
  }

  async notifyCheckpointAborted(checkpointId: number): Promise<void> {
    for (const m of this.members) await m.operator.notifyCheckpointAborted?.(checkpointId);
  }

  /** Input ended: operators flush, head first so what one emits reaches the next. */
  async endInput(): Promise<void> {
    for (const m of this.members) await m.operator.endInput?.();
  }

  /** Closes everything, collecting (not throwing) errors so every operator gets closed. */
  async close(): Promise<unknown[]> {
    const errors: unknown[] = [];
    const attempt = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    if (this.source) await attempt(() => this.source!.reader.close?.());
    for (const m of this.members) {
      await attempt(() => m.operator.close?.());
      if (m.keyed) await attempt(() => m.keyed!.dispose());
    }
    return errors;
  }
}
