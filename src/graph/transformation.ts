// A node of the logical pipeline the DataStream API records: source, operator or sink.
import type { Sink, Source, StreamOperator } from '../operators/operator.ts';

export type KeySelector<T = any, K = unknown> = (record: T) => K;

/** How records travel from a producer's subtasks to a consumer's subtasks. */
export type Partitioning = { type: 'forward' } | { type: 'rebalance' } | { type: 'broadcast' } | { type: 'hash'; keySelector: KeySelector };

/** Where a transformation reads from; `outputTag`: a side output of that operator (null or absent: its main output). */
export interface TransformationInput {
  transformation: Transformation;
  partitioning?: Partitioning;
  outputTag?: string | null;
}

export interface Transformation {
  readonly id: number;
  kind: 'source' | 'operator' | 'sink';
  name: string;
  uid?: string;
  /** undefined: the environment's default parallelism */
  parallelism?: number;
  /** sources that cannot run in parallel (a collection) pin this to 1 */
  fixedParallelism?: number;
  input?: TransformationInput;
  /** union: the inputs after the first; their records reach the operator as if from one stream */
  extraInputs?: TransformationInput[];
  /**
   * Virtual (Flink's SideOutputTransformation): no operator, only a selection of its input's main
   * output (tag null) or of one side output. The job graph replaces it by an edge (or chain link)
   * that carries the tag; it keeps a uid only so generated uids behind it stay what they were.
   */
  selectsOutput?: { tag: string | null };
  /** set on operators after keyBy: the key they read and write state under */
  keySelector?: KeySelector;
  source?: Source<unknown>;
  sink?: Sink<unknown>;
  createOperator?: () => StreamOperator<any, any>;
}
