// Snapshot handles and the state a subtask acknowledges: what a checkpoint is made of, as every layer above sees it.

/**
 * Where snapshot bytes live. `bytes` stays in memory (memory storage, or state under the fs
 * storage's memory threshold, inlined into `_metadata`); `file` points into checkpoint storage,
 * its `path` relative to the job's checkpoint directory (`chk-3/...`, `shared/...`) or to a
 * savepoint's directory; `incremental` is a full materialisation plus changelog deltas applied in
 * order (incremental checkpoints: the base and the deltas live in `shared/`, reference-counted).
 */
export type StateHandle =
  | { type: 'bytes'; bytes: Uint8Array; size: number }
  | { type: 'file'; path: string; size: number; checksum: string }
  | { type: 'incremental'; base: StateHandle; deltas: StateHandle[]; size: number };

/** Operator (non-keyed) list state: `split` lists are redistributed evenly on rescale, `union` lists are broadcast. */
export interface OperatorStateSnapshot {
  [name: string]: { mode: 'split' | 'union'; items: unknown[] };
}

/** The state of one operator of a chain in one subtask's snapshot. */
export interface OperatorSubtaskState {
  keyed: StateHandle | null;
  operator: OperatorStateSnapshot;
  /**
   * The subtask's input had ended and its endInput had run before this snapshot (Flink's finished
   * operator): a restore at the same parallelism does not run endInput again (checkpoints only).
   */
  finished?: true;
}

/** A subtask's snapshot: operator uid -> its state. */
export interface TaskStateSnapshot {
  [operatorUid: string]: OperatorSubtaskState;
}

/**
 * The in-flight records an unaligned checkpoint overtook at one subtask (Flink's channel state):
 * per input channel, the data buffers that were sent before the barrier but not yet part of the
 * subtask's operator state. Each buffer is one encoded batch (the state value format), replayed
 * before new input.
 */
export interface ChannelStateSnapshot {
  /** uid of the head operator of the subtask's chain: channel state is matched by it on restore */
  operatorUid: string;
  subtaskIndex: number;
  /** the vertex's parallelism and input channel count when taken: a rescaled job cannot replay it */
  parallelism: number;
  inputChannels: number;
  /** indexed by input channel; encoded batches, oldest first */
  inputs: Uint8Array[][];
  bytes: number;
}

/** Where a subtask's channel state lives in a completed checkpoint. */
export function channelStateKey(operatorUid: string, subtaskIndex: number): string {
  return `${operatorUid}#${subtaskIndex}`;
}
