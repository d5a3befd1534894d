// Live inspection of task actors: xstate's inspection protocol, filtered so it never floods.
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';

/** A callback receiving inspection events, or the websocket URL of an inspector (e.g. @statelyai/inspect's server). */
export type InspectOption = ((event: InspectionEvent) => void) | string | true;

export const DEFAULT_INSPECT_URL = 'ws://localhost:8080';

export interface Inspection {
  inspect: (event: InspectionEvent) => void;
  stop(): void;
}

/**
 * Keeps actor registrations, events and snapshots; drops microsteps and action records, which
 * repeat what snapshots show. Data batches never reach the machines (they are not events), and
 * task metrics are sampled once a second, so the stream stays small whatever the throughput.
 */
export function isShown(event: InspectionEvent): boolean {
  return event.type === '@xstate.actor' || event.type === '@xstate.event' || event.type === '@xstate.snapshot';
}

export function createInspection(option: InspectOption): Inspection {
  if (typeof option === 'function') {
    return { inspect: (e) => isShown(e) && option(e), stop() {} };
  }
  const url = option === true ? DEFAULT_INSPECT_URL : option;
  const inspector = createWebSocketInspector({ url, filter: (e) => e.type !== '@xstate.event' || !String((e.event as { type?: string }).type).startsWith('xstate.') });
  return {
    inspect: (e) => {
      if (isShown(e)) inspector.inspect.next?.(e);
    },
    stop: () => inspector.stop(),
  };
}
