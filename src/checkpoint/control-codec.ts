// The one codec of the control protocol: a message to bytes and back (the state value format, so operator state survives as it is).
import { packStateValue, valuePackr } from './state-value-codec.ts';
import { FloeError } from '../errors.ts';
import { CONTROL_MESSAGE_TYPES, type ControlMessage } from './control-messages.ts';

const TYPES = new Set<string>(CONTROL_MESSAGE_TYPES);

/**
 * Encodes a control message. Operator state and in-flight data inside it take the state value
 * format (Maps, Sets, Dates, -0, BigInt, undefined survive); errors travel already serialised
 * (see serializeError). Throws a StateValueError for a value no snapshot could hold either.
 */
export function encodeControlMessage(message: ControlMessage): Uint8Array {
  // a copy: the writer's buffer is reused by the next call
  return Uint8Array.prototype.slice.call(packStateValue(message, `a ${message.type} message`));
}

export function decodeControlMessage(bytes: Uint8Array): ControlMessage {
  let message: unknown;
  try {
    message = valuePackr.unpack(bytes);
  } catch (cause) {
    throw invalid(`it cannot be decoded (${(cause as Error).message})`, cause);
  }
  const m = message as { type?: unknown; attempt?: unknown } | null;
  if (m === null || typeof m !== 'object' || typeof m.type !== 'string' || !TYPES.has(m.type))
    throw invalid(`${describe(m)} is not a control message`);
  if (typeof m.attempt !== 'number') throw invalid(`a ${m.type} message without an execution attempt`);
  return message as ControlMessage;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const type = (value as { type?: unknown }).type;
  return type === undefined ? 'an object without a type' : `type ${JSON.stringify(type)}`;
}

function invalid(why: string, cause?: unknown): FloeError {
  return new FloeError('FLOE_CONTROL_MESSAGE_INVALID', `a control message was refused: ${why}`, {
    cause,
    hint: 'both ends must run the same floe version; a message that does not decode is a transport fault',
  });
}
