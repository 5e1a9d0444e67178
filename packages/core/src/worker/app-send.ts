import { clusterizeRangeError, clusterizeTypeError } from '../errors.js';
import { bytesOver } from '../payload.js';

type Send = NonNullable<typeof process.send>;

// child_process's own test (lib/internal/child_process.js `isInternal`): such a message is
// delivered as 'internalMessage' and acted on by Node itself or by clusterize.
const INTERNAL_PREFIX = 'NODE_';

function isInternal(message: unknown): boolean {
  const cmd = message !== null && typeof message === 'object' ? (message as { cmd?: unknown }).cmd : undefined;
  return typeof cmd === 'string' && cmd.length > INTERNAL_PREFIX.length && cmd.startsWith(INTERNAL_PREFIX);
}

/**
 * The bytes of `message` as the channel carries it (Node's 'json' serialization: the JSON
 * text in UTF-8) when more than `maxBytes`, or undefined where JSON gives no text and Node's
 * own send reports it.
 */
function tooLarge(message: unknown, maxBytes: number): number | undefined {
  const json = JSON.stringify(message) as string | undefined;
  return json === undefined ? undefined : bytesOver(json, maxBytes);
}

/**
 * Makes the application's `process.send()` refuse
 * - messages that the primary would take for Node's or clusterize's own commands: a stray
 *   `{ cmd: 'NODE_HANDLE_ACK' }` makes child_process in the primary fail an internal
 *   assertion and the primary die (ERR_CLUSTERIZE_RESERVED_MESSAGE);
 * - messages larger than `maxBytes` (ERR_CLUSTERIZE_MESSAGE_TOO_LARGE): the primary reads
 *   and parses a whole message before anything can look at it (a 50 MB one raises its
 *   memory by about 200 MB), so nothing on its side can refuse it first.
 * The refusal is thrown synchronously, also when a callback is given, as Node throws its own
 * argument errors (ERR_INVALID_ARG_TYPE) from `send()`. Measuring costs one more
 * JSON.stringify of each message.
 *
 * Node's internal messages are unaffected: child_process sends its acknowledgements and
 * queued messages through `process._send`, not `process.send`. Returns the original send,
 * for the runtime's own messages.
 */
export function guardAppSend(maxBytes: number): Send {
  const original = process.send!;
  const send = function send(this: NodeJS.Process, message: unknown, ...rest: unknown[]): boolean {
    if (isInternal(message)) {
      const cmd = (message as { cmd: string }).cmd;
      throw clusterizeTypeError('ERR_CLUSTERIZE_RESERVED_MESSAGE',
        `process.send() refused a message with cmd '${cmd.slice(0, 60)}': cmd values starting with '${INTERNAL_PREFIX}' are Node.js's and clusterize's own`);
    }
    const bytes = tooLarge(message, maxBytes);
    if (bytes !== undefined) {
      throw clusterizeRangeError('ERR_CLUSTERIZE_MESSAGE_TOO_LARGE',
        `process.send() refused a message of ${bytes} bytes (JSON); the limit is ${maxBytes} bytes (maxMessageSize)`);
    }
    return (original as (...args: unknown[]) => boolean).call(this, message, ...rest);
  };
  process.send = send as Send;
  return original.bind(process);
}
