// WindowedStream lives beside DataStream (src/api/data-stream.ts): each makes the other.
export { WindowedStream } from './data-stream.ts';
