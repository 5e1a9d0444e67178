// Between two pools every connection of the first must be gone on the server's side too:
// a worker still holding one would weigh on where the next pool's connections land (and
// least-connections would count it). The kernel's table says so without asking the workers.
import { readFileSync } from 'node:fs';

/** /proc/net/tcp's `st` column: states a closed pool leaves behind, which hold no worker's socket. */
const LISTEN = '0A';
const TIME_WAIT = '06';
const POLL_MS = 20;

/** TCP sockets on 127.0.0.1 whose local port is `port`, other than listening and TIME_WAIT ones. */
function serverSockets(port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).filter((line) => {
    const [, address, , state] = line.trim().split(/\s+/);
    return address?.endsWith(local) === true && state !== LISTEN && state !== TIME_WAIT;
  }).length;
}

/** Resolves once no connection to `port` is open on the server's side; rejects after `timeoutMs`. */
export async function untilClosed(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (let open = serverSockets(port); open > 0; open = serverSockets(port)) {
    if (performance.now() > deadline) throw new Error(`${open} connections to port ${port} still open ${timeoutMs} ms after the pool closed`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
