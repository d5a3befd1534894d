// Publishes test text to JetStream for the example: creates the stream `events` (subjects `events.>`) and sends LINES lines of words.
//
//   NATS_URL=nats://127.0.0.1:4222 LINES=20000 node --import=tsx examples/nats-to-postgres/publish.ts
import { connect } from 'nats';
import { generateText } from '../../spec/fixtures/generate-text.ts';

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const stream = process.env.NATS_STREAM ?? 'events';
const lines = generateText(Number(process.env.LINES ?? 20_000) * 10, { seed: 1, vocabulary: 1000 })
  .split('\n')
  .filter(Boolean);
const nc = await connect({ servers: url });
const jsm = await nc.jetstreamManager();
// a 15 minute duplicate window, so a JetStreamSink writing here stays exactly-once through a slow recovery
await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], duplicate_window: 15 * 60 * 1e9 }).catch(() => jsm.streams.info(stream));
const js = nc.jetstream();
const encoder = new TextEncoder();
for (let i = 0; i < lines.length; i += 1000) {
  await Promise.all(lines.slice(i, i + 1000).map((line, k) => js.publish(`${stream}.${(i + k) % 4}`, encoder.encode(line))));
}
const words = new Map<string, number>();
for (const line of lines) for (const w of line.split(' ')) words.set(w, (words.get(w) ?? 0) + 1);
console.log(
  `published ${lines.length} lines (${[...words.values()].reduce((a, b) => a + b, 0)} words, ${words.size} distinct) to ${stream}`,
);
await nc.close();
