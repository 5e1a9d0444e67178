import { clusterizeError } from '../../errors.js';
import type { Policy } from './index.js';

/**
 * Each worker binds its own socket with SO_REUSEPORT and the kernel hashes connections
 * across them. A socket that closes takes its accept queue with it (the kernel resets those
 * connections unless net.ipv4.tcp_migrate_req is 1), so draining a worker can reset the
 * few connections queued on its socket.
 */
function assertSupported(): void {
  if (process.platform !== 'linux' && process.platform !== 'freebsd') {
    throw clusterizeError('ERR_CLUSTERIZE_POLICY_UNSUPPORTED',
      `'reuseport' needs SO_REUSEPORT load balancing (Linux or FreeBSD); this is ${process.platform}. Use 'shared' or 'round-robin'`);
  }
}

export const reusePort: Policy = { name: 'reuseport', transport: 'self', assertSupported };
