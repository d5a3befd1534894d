// Checks the event-time example's output: each event counted once, in its window's last firing or in late/.
//
//   node --import=tsx examples/event-time/check.ts [example-dir]
//
// Whether an event is late depends on how far the watermark had come when it arrived, which depends on
// timing (watermarks are sent every 200 ms): the check holds whatever the split is. A window fires when
// the watermark passes its end and again for each late event within the allowed lateness, each time with
// all its events so far, so its last firing counts the events that were not sent to late/.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Event } from './generate.ts';

const MINUTE = 60_000;

export interface CheckResult {
  events: number;
  windows: number;
  firings: number;
  late: number;
  /** (user, window) pairs whose last count plus late events differ from the input */
  wrong: string[];
}

const lines = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean));

export function check(dir: string): CheckResult {
  const expected = new Map<string, number>();
  const input = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean);
  const id = (user: string, start: number) => `${user}@${new Date(start).toISOString()}`;
  for (const line of input) {
    const e = JSON.parse(line) as Event;
    const k = id(e.user, e.ts - (e.ts % MINUTE));
    expected.set(k, (expected.get(k) ?? 0) + 1);
  }
  const counted = new Map<string, number>();
  const firings = lines(join(dir, 'counts'));
  for (const line of firings) {
    const r = JSON.parse(line) as { key: string; start: number; n: number };
    const k = id(r.key, r.start);
    // firings of one window come in order, each with more events: the last is the largest
    counted.set(k, Math.max(counted.get(k) ?? 0, r.n));
  }
  const late = lines(join(dir, 'late'));
  for (const line of late) {
    const e = JSON.parse(line) as Event;
    const k = id(e.user, e.ts - (e.ts % MINUTE));
    counted.set(k, (counted.get(k) ?? 0) + 1);
  }
  const wrong: string[] = [];
  for (const k of new Set([...expected.keys(), ...counted.keys()]))
    if ((expected.get(k) ?? 0) !== (counted.get(k) ?? 0))
      wrong.push(`${k}: ${expected.get(k) ?? 0} events, counted ${counted.get(k) ?? 0}`);
  return { events: input.length, windows: expected.size, firings: firings.length, late: late.length, wrong };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('.', import.meta.url));
  const r = check(dir);
  process.stdout.write(
    `${r.events} events in ${r.windows} (user, minute) windows: ${r.firings} window results, ${r.late} late events — ` +
      (r.wrong.length === 0 ? 'every event counted once\n' : `${r.wrong.length} windows wrong:\n  ${r.wrong.slice(0, 10).join('\n  ')}\n`),
  );
  process.exitCode = r.wrong.length === 0 ? 0 : 1;
}
