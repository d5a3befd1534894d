// A node of the logical pipeline the DataStream API records: source, operator or sink.
import type { Sink, Source, StreamOperator } from '../operators/operator.ts';

export type KeySelector<T = any, K = unknown> = (record: T) => K;

/** How records travel from a producer's subtasks to a consumer's subtasks. */
export type Partitioning = { type: 'forward' } | { type: 'rebalance' } | { type: 'broadcast' } | { type: 'hash'; keySelector: KeySelector };

export interface Transformation {
  readonly id: number;
  kind: 'source' | 'operator' | 'sink';
  name: string;
  uid?: string;
  /** undefined: the environment's default parallelism */
  parallelism?: number;
  /** sources that cannot run in parallel (a collection) pin this to 1 */
  fixedParallelism?: number;
  input?: { transformation: Transformation; partitioning?: Partitioning };
  /** union: the inputs after the first; their records reach the operator as if from one stream */
  extraInputs?: Array<{ transformation: Transformation; partitioning?: Partitioning }>;
  /** set on operators after keyBy: the key they read and write state under */
  keySelector?: KeySelector;
  source?: Source<unknown>;
  sink?: Sink<unknown>;
  createOperator?: () => StreamOperator<any, any>;
}
