/**
 * The data of publish(), request() and their replies as clusterize's channel carries it: its
 * JSON text, made once by the sender and passed on as text, so the primary relays a publish
 * to every worker without parsing it, and each side measures it before anything is sent.
 */
import { clusterizeRangeError, clusterizeTypeError } from './errors.js';

/** The longest topic, request or lead name. */
export const MAX_NAME_LENGTH = 256;

/**
 * The bytes of the JSON text `json` in UTF-8 when they are more than `maxBytes`, else
 * undefined. A character takes 1 to 3 bytes: the exact count is only needed near the limit.
 */
export function bytesOver(json: string, maxBytes: number): number | undefined {
  if (json.length * 3 <= maxBytes) return undefined;
  const bytes = json.length > maxBytes ? json.length : Buffer.byteLength(json);
  return bytes > maxBytes ? bytes : undefined;
}

/**
 * The JSON text of `data`, or undefined for undefined (no data). What JSON.stringify cannot
 * write (a BigInt, a cycle, a function or symbol on its own) is a TypeError
 * (ERR_CLUSTERIZE_NOT_JSON); more than `maxBytes` a RangeError (ERR_CLUSTERIZE_MESSAGE_TOO_LARGE).
 * `what` names the call in the message: `publish('cache:invalidate')`.
 */
export function encode(data: unknown, maxBytes: number, what: string): string | undefined {
  if (data === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(data) as string | undefined;
  } catch (error) {
    throw clusterizeTypeError('ERR_CLUSTERIZE_NOT_JSON', `${what}: its data cannot be written as JSON: ${(error as Error)?.message ?? String(error)}`);
  }
  if (json === undefined) throw clusterizeTypeError('ERR_CLUSTERIZE_NOT_JSON', `${what}: its data is a ${typeof data}, which JSON cannot carry`);
  const bytes = bytesOver(json, maxBytes);
  if (bytes !== undefined) {
    throw clusterizeRangeError('ERR_CLUSTERIZE_MESSAGE_TOO_LARGE', `${what}: its data takes ${bytes} bytes as JSON; the limit is ${maxBytes} bytes (maxMessageSize)`);
  }
  return json;
}

export function decode(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}

/** A topic, request or lead name: a string of 1 to MAX_NAME_LENGTH characters (ERR_CLUSTERIZE_INVALID_ARGUMENT). */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    const got = typeof name === 'string' ? `a string of ${name.length} characters` : typeof name;
    throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_ARGUMENT', `${what} must be a string of 1 to ${MAX_NAME_LENGTH} characters, got ${got}`);
  }
  return name;
}

export function checkFunction(fn: unknown, what: string): void {
  if (typeof fn !== 'function') throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_ARGUMENT', `${what} must be a function, got ${fn === null ? 'null' : typeof fn}`);
}
