// Writes events.jsonl: clicks of 20 users over 30 minutes of event time, a few out of order by up to 5 s and a few minutes late.
//
//   node --import=tsx examples/event-time/generate.ts   (the committed file is its output: seeded, the same every time)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Event {
  user: string;
  ts: number;
}

const START = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A small seeded generator (mulberry32): the example's input does not change between runs. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function events(count = 3000): Event[] {
  const next = random(42);
  const out: Event[] = [];
  for (let i = 0; i < count; i++) {
    let ts = START + Math.floor((i * 30 * 60_000) / count);
    const r = next();
    if (r < 0.05)
      ts -= Math.floor(next() * 5000); // out of order, within the 2 s bound mostly
    else if (r < 0.06) ts -= 120_000 + Math.floor(next() * 60_000); // minutes late
    out.push({ user: `user-${Math.floor(next() * 20)}`, ts });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = fileURLToPath(new URL('events.jsonl', import.meta.url));
  writeFileSync(
    file,
    events()
      .map((e) => JSON.stringify(e) + '\n')
      .join(''),
  );
  process.stdout.write(`wrote ${file}\n`);
}
