// Sources and sinks that come with floe.
export { SequenceSource } from './sequence-source.ts';
export type { SequenceSplit } from './sequence-source.ts';
export { CollectionSource } from './collection-source.ts';
export { TextFileSource } from './text-file-source.ts';
export type { TextFileSplit } from './text-file-source.ts';
export { PrintSink } from './print-sink.ts';
export type { PrintSinkOptions, TextOut } from './print-sink.ts';
export { FileSink } from './file-sink.ts';
export type { FileSinkOptions, FileTransaction } from './file-sink.ts';
export { CollectSink } from './collect-sink.ts';
export type { CollectTransaction } from './collect-sink.ts';
export { formatRecord } from './format-record.ts';
