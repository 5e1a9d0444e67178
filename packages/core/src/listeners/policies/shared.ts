import type { Policy } from './index.js';

/**
 * Workers accept on the primary's listening socket and the kernel wakes whichever is
 * waiting (Node's SCHED_NONE). No per-connection IPC: a busy worker is not in accept(), so
 * an idle one takes the connection. The accept queue belongs to the socket, which the
 * primary keeps open, so a worker that exits, drains or pauses leaves its queued
 * connections to the others.
 */
export const shared: Policy = { name: 'shared', transport: 'shared' };
