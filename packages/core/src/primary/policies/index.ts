import type { Transport } from '../../protocol.js';
import { roundRobin } from './round-robin.js';
import { leastConnections } from './least-connections.js';
import { shared } from './shared.js';
import { reusePort } from './reuseport.js';

/** What a forwarding policy knows of a worker when it picks one for a connection. */
export interface Target {
  readonly id: number;
  /** Connections sent to this worker and not yet acknowledged. */
  readonly pending: number;
  /** Open connections the worker last reported. */
  readonly connections: number;
}

/** Picks the worker for the next connection, or undefined to keep it queued. */
export type Balancer = (targets: readonly Target[]) => Target | undefined;

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
  /** Throws a coded error where this platform or Node.js cannot run the policy. */
  readonly assertSupported?: () => void;
}

const policies = {
  'round-robin': roundRobin,
  'least-connections': leastConnections,
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
