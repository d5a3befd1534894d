// State descriptors for process functions: `valueState('count', 0)`, `listState('seen')`, ...
import type {
  AggregateFunction,
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../backends/types.ts';

export const valueState = <T>(name: string, defaultValue?: T): ValueStateDescriptor<T> => ({ kind: 'value', name, defaultValue });
export const listState = <T>(name: string): ListStateDescriptor<T> => ({ kind: 'list', name });
export const mapState = <K, V>(name: string): MapStateDescriptor<K, V> => ({ kind: 'map', name });
export const reducingState = <T>(name: string, reduce: (a: T, b: T) => T): ReducingStateDescriptor<T> => ({
  kind: 'reducing',
  name,
  reduce,
});
export const aggregatingState = <IN, ACC, OUT>(
  name: string,
  aggregate: AggregateFunction<IN, ACC, OUT>,
): AggregatingStateDescriptor<IN, ACC, OUT> => ({
  kind: 'aggregating',
  name,
  aggregate,
});
