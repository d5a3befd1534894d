// Window assigners (Flink's): tumbling, sliding and session windows, in event time and processing time.
import { JobDefinitionError } from '../errors.ts';
import { durationOf } from './event-time.ts';

/** A window `[start, end)`, aligned to the epoch (plus an offset); its last timestamp is `end - 1`. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export abstract class WindowAssigner {
  abstract readonly isEventTime: boolean;
  /** session windows merge: overlapping windows of a key become one */
  readonly isMerging: boolean = false;
  abstract assignWindows(timestamp: number): TimeWindow[];
  abstract toString(): string;
  /**
   * Fixed-size windows (tumbling: slide = size; sliding): what assigns a timestamp's windows without
   * making objects (starts from `windowStart(ts, offset, slide)` down, while start > ts - size); null for sessions.
   */
  fixedWindows(): FixedWindows | null {
    return null;
  }
}

export interface FixedWindows {
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
}

/** Flink's TimeWindow.getWindowStartWithOffset. */
export function windowStart(timestamp: number, offset: number, size: number): number {
  const remainder = (timestamp - offset) % size;
  return remainder < 0 ? timestamp - (remainder + size) : timestamp - remainder;
}

/** The assigner a duration was given to, named in its error with an example of that assigner's use. */
interface Caller {
  name: string;
  example: string;
}

function sizeOf(value: string | number, what: string, caller: Caller): number {
  if (typeof value === 'number' && value <= 0) {
    throw new JobDefinitionError('FLOE_WINDOW_SIZE', `${caller.name}: ${what} must be larger than 0, got ${value}`, {
      hint: `e.g. ${caller.example}`,
    });
  }
  try {
    return durationOf(value, what);
  } catch (e) {
    throw new JobDefinitionError(
      'FLOE_WINDOW_SIZE',
      `${caller.name}: ${what} must be a duration larger than 0, got ${JSON.stringify(value)}`,
      {
        cause: e,
        hint: `e.g. ${caller.example}`,
      },
    );
  }
}

function offsetOf(value: string | number | undefined, size: number, caller: Caller): number {
  if (value === undefined) return 0;
  const negative = typeof value === 'number' ? value < 0 : value.trim().startsWith('-');
  const ms =
    durationOf(typeof value === 'number' ? Math.abs(value) : value.trim().replace(/^-/, ''), 'a window offset', { allowZero: true }) *
    (negative ? -1 : 1);
  if (Math.abs(ms) >= size)
    throw new JobDefinitionError(
      'FLOE_WINDOW_OFFSET',
      `${caller.name}: a window offset must be smaller than the window's ${caller.name.startsWith('Sliding') ? 'slide' : 'size'} (${size} ms), got ${ms} ms`,
      { hint: 'e.g. of("1 d", "-8 h") for days in UTC+8' },
    );
  return ms;
}

class Tumbling extends WindowAssigner {
  constructor(
    readonly size: number,
    readonly offset: number,
    readonly isEventTime: boolean,
  ) {
    super();
  }
  assignWindows(timestamp: number): TimeWindow[] {
    const start = windowStart(timestamp, this.offset, this.size);
    return [{ start, end: start + this.size }];
  }
  override fixedWindows(): FixedWindows {
    return { size: this.size, slide: this.size, offset: this.offset };
  }
  toString(): string {
    return `Tumbling${this.isEventTime ? 'EventTime' : 'ProcessingTime'}Windows(${this.size}, ${this.offset})`;
  }
}

class Sliding extends WindowAssigner {
  constructor(
    readonly size: number,
    readonly slide: number,
    readonly offset: number,
    readonly isEventTime: boolean,
  ) {
    super();
  }
  assignWindows(timestamp: number): TimeWindow[] {
    const windows: TimeWindow[] = [];
    const last = windowStart(timestamp, this.offset, this.slide);
    for (let start = last; start > timestamp - this.size; start -= this.slide) windows.push({ start, end: start + this.size });
    return windows;
  }
  override fixedWindows(): FixedWindows {
    return { size: this.size, slide: this.slide, offset: this.offset };
  }
  toString(): string {
    return `Sliding${this.isEventTime ? 'EventTime' : 'ProcessingTime'}Windows(${this.size}, ${this.slide}, ${this.offset})`;
  }
}

class Session extends WindowAssigner {
  override readonly isMerging = true;
  constructor(
    readonly gap: number,
    readonly isEventTime: boolean,
  ) {
    super();
  }
  assignWindows(timestamp: number): TimeWindow[] {
    return [{ start: timestamp, end: timestamp + this.gap }];
  }
  toString(): string {
    return `${this.isEventTime ? 'EventTime' : 'ProcessingTime'}SessionWindows(${this.gap})`;
  }
}

const TUMBLING_EVENT: Caller = { name: 'TumblingEventTimeWindows.of', example: 'TumblingEventTimeWindows.of("1 min")' };
const TUMBLING_PROCESSING: Caller = { name: 'TumblingProcessingTimeWindows.of', example: 'TumblingProcessingTimeWindows.of("1 min")' };
const SLIDING_EVENT: Caller = { name: 'SlidingEventTimeWindows.of', example: 'SlidingEventTimeWindows.of("1 min", "10 s")' };
const SLIDING_PROCESSING: Caller = { name: 'SlidingProcessingTimeWindows.of', example: 'SlidingProcessingTimeWindows.of("1 min", "10 s")' };
const SESSION_EVENT: Caller = { name: 'EventTimeSessionWindows.withGap', example: 'EventTimeSessionWindows.withGap("5 min")' };
const SESSION_PROCESSING: Caller = {
  name: 'ProcessingTimeSessionWindows.withGap',
  example: 'ProcessingTimeSessionWindows.withGap("5 min")',
};

function sliding(size: string | number, slide: string | number, offset: string | number | undefined, eventTime: boolean): Sliding {
  const caller = eventTime ? SLIDING_EVENT : SLIDING_PROCESSING;
  const s = sizeOf(size, 'a window size', caller);
  const sl = sizeOf(slide, 'a window slide', caller);
  if (sl > s)
    throw new JobDefinitionError(
      'FLOE_WINDOW_SLIDE',
      `${caller.name}: a window's slide (${sl} ms) must not be larger than its size (${s} ms)`,
      {
        hint: `e.g. ${caller.example}`,
      },
    );
  return new Sliding(s, sl, offsetOf(offset, sl, caller), eventTime);
}

export const TumblingEventTimeWindows = {
  of(size: string | number, offset?: string | number): WindowAssigner {
    const s = sizeOf(size, 'a window size', TUMBLING_EVENT);
    return new Tumbling(s, offsetOf(offset, s, TUMBLING_EVENT), true);
  },
};

export const TumblingProcessingTimeWindows = {
  of(size: string | number, offset?: string | number): WindowAssigner {
    const s = sizeOf(size, 'a window size', TUMBLING_PROCESSING);
    return new Tumbling(s, offsetOf(offset, s, TUMBLING_PROCESSING), false);
  },
};

export const SlidingEventTimeWindows = {
  of: (size: string | number, slide: string | number, offset?: string | number): WindowAssigner => sliding(size, slide, offset, true),
};

export const SlidingProcessingTimeWindows = {
  of: (size: string | number, slide: string | number, offset?: string | number): WindowAssigner => sliding(size, slide, offset, false),
};

export const EventTimeSessionWindows = {
  withGap: (gap: string | number): WindowAssigner => new Session(sizeOf(gap, 'a session gap', SESSION_EVENT), true),
};

export const ProcessingTimeSessionWindows = {
  withGap: (gap: string | number): WindowAssigner => new Session(sizeOf(gap, 'a session gap', SESSION_PROCESSING), false),
};
