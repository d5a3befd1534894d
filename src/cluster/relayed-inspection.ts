// Inspection events of task actors in a TaskManager, relayed to the JobManager so `--inspect` shows every task wherever it runs.
import type { AnyActorRef, InspectionEvent } from 'xstate';

/** One inspection event of a remote task actor, as plain data (what a control frame carries). */
export interface RelayedInspection {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  /** the actor's session id in its TaskManager */
  sessionId: string;
  /** the actor's id (the task's name): what an inspector shows */
  id: string;
  sourceSessionId?: string;
  event?: unknown;
  snapshot?: unknown;
}

/** Keys of control messages that hold operator state (restore state, snapshots): never relayed, as the inspector never shows them. */
const STATE_KEYS = new Set(['restore', 'state', 'channelState']);

/** JSON-safe data (snapshots serialise through their toJSON; cycles are cut), without operator state. */
function plain(value: unknown): unknown {
  if (value === undefined) return undefined;
  const seen = new WeakSet<object>();
  const text = JSON.stringify(value, (key, v: unknown) => {
    if (STATE_KEYS.has(key) && v !== null && typeof v === 'object') return `[${Object.keys(v).length} entries]`;
    if (typeof v !== 'object' || v === null) return v;
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    return v;
  });
  return text === undefined ? undefined : JSON.parse(text);
}

/** A task actor's registration (xstate announces an actor before its systemId is set: the attempt announces its tasks itself). */
export function relayedActor(ref: AnyActorRef): RelayedInspection {
  return { type: '@xstate.actor', sessionId: ref.sessionId, id: ref.id, snapshot: plain(ref.getSnapshot()) };
}

/** The relayed form of an event or snapshot of a task actor (systemId `task:...`); null for any other (the TaskManager's stand-ins, registrations). */
export function relayInspection(event: InspectionEvent): RelayedInspection | null {
  const ref = event.actorRef as AnyActorRef & { systemId?: string };
  if (!ref.systemId?.startsWith('task:')) return null;
  switch (event.type) {
    case '@xstate.event': {
      const source = event.sourceRef as AnyActorRef | undefined;
      // events among the machine's own (xstate.*) repeat what snapshots show
      if (String(event.event.type).startsWith('xstate.')) return null;
      return {
        type: event.type,
        sessionId: ref.sessionId,
        id: ref.id,
        event: plain(event.event),
        ...(source ? { sourceSessionId: source.sessionId } : {}),
      };
    }
    case '@xstate.snapshot':
      return { type: event.type, sessionId: ref.sessionId, id: ref.id, event: plain(event.event), snapshot: plain(event.snapshot) };
    default:
      return null;
  }
}

/**
 * The event as the JobManager's inspection reads it: the remote actor stands as a child of the job
 * master, its session id prefixed with its TaskManager's (session ids are per process).
 */
export function inspectionEventOf(relayed: RelayedInspection, taskManager: string, jobMaster: AnyActorRef): InspectionEvent {
  const snapshot = relayed.snapshot;
  const actorRef = {
    id: relayed.id,
    sessionId: `${taskManager}/${relayed.sessionId}`,
    _parent: jobMaster,
    getSnapshot: () => snapshot,
  } as unknown as AnyActorRef;
  const rootId = jobMaster.sessionId;
  switch (relayed.type) {
    case '@xstate.actor':
      return { type: relayed.type, rootId, actorRef };
    case '@xstate.event':
      return {
        type: relayed.type,
        rootId,
        actorRef,
        event: relayed.event as never,
        sourceRef: relayed.sourceSessionId
          ? ({ sessionId: `${taskManager}/${relayed.sourceSessionId}` } as unknown as AnyActorRef)
          : undefined,
      };
    case '@xstate.snapshot':
      return { type: relayed.type, rootId, actorRef, event: relayed.event as never, snapshot: snapshot as never };
  }
}
