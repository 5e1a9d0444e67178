import type { Transport } from '../../protocol.js';
import { roundRobin } from './round-robin.js';
import { leastConnections } from './least-connections.js';
import { shared } from './shared.js';
import { reusePort } from './reuseport.js';
import { sticky } from './sticky.js';

/** What a forwarding policy knows of a worker when it picks one for a connection. */
export interface Target {
  readonly id: number;
  /** Connections sent to this worker and not yet acknowledged. */
  readonly pending: number;
  /** Open connections the worker last reported. */
  readonly connections: number;
  /** Its place in the cluster (0 to workers - 1), which a replacement takes over (see Supervisor). */
  readonly slot: number;
  /** The release it runs: during a reload a slot can have an old and a new holder. */
  readonly generation: number;
}

/**
 * Picks the worker for the next connection, or undefined to keep it queued. `address` is
 * the client's address where the policy asked for it (`byClientAddress`), else ''.
 */
export type Balancer = (targets: readonly Target[], address: string) => Target | undefined;

export interface Policy {
  readonly name: string;
  /**
   * forward: the primary accepts and hands each connection over IPC to the worker the
   * balancer picks. shared: workers accept on the primary's listening socket. self: each
   * worker binds its own socket.
   */
  readonly transport: Transport;
  readonly createBalancer?: () => Balancer;
  /** The balancer weighs workers by open connections: workers report when one closes. */
  readonly reportsLoad?: boolean;
  /** The balancer picks by the client's address (the PROXY protocol's where it is on). */
  readonly byClientAddress?: boolean;
  /**
   * During a reload an old worker stops getting connections once a new worker holding its
   * slot is ready, not as soon as any new worker is: a slot's clients stay together.
   */
  readonly supersededBySlot?: boolean;
  /** Throws a coded error where this platform or Node.js cannot run the policy. */
  readonly assertSupported?: () => void;
}

const policies = {
  'round-robin': roundRobin,
  'least-connections': leastConnections,
  sticky,
  shared,
  reuseport: reusePort,
} satisfies Record<string, Policy>;

export type PolicyName = keyof typeof policies;

export const policyNames = Object.keys(policies) as PolicyName[];

export const DEFAULT_POLICY: PolicyName = 'shared';

export function isPolicyName(value: unknown): value is PolicyName {
  return typeof value === 'string' && Object.hasOwn(policies, value);
}

export function getPolicy(name: PolicyName): Policy {
  return policies[name];
}
