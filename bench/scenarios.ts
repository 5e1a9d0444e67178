import { fileURLToPath } from 'node:url';

export interface Scenario {
  readonly id: string;
  readonly label: string;
  /** The app script every contender runs. */
  readonly app: string;
  readonly connections: number;
  /** A new TCP connection for every request. */
  readonly churn: boolean;
  /** The path of each request (default '/'). */
  readonly path?: () => string;
  /** Only these contenders (ids); default: every contender but sticky and those that read a PROXY protocol header (see contendersFor). */
  readonly contenders?: readonly string[];
  /** Workers per contender in this scenario; default: the run's setting. */
  readonly workers?: number;
}

/**
 * Who runs a scenario. `sticky` hashes the client's address, and autocannon connects from
 * one address only: with 2 workers it would serve everything from one of them, a figure
 * that says nothing. It runs in 'sticky-cost' instead, as do the contenders that read a
 * PROXY protocol header (the header's made-up addresses vary per connection).
 */
export function contendersFor<C extends { id: string; proxyProtocol?: boolean }>(scenario: Scenario, all: readonly C[]): C[] {
  if (scenario.contenders !== undefined) return all.filter((c) => scenario.contenders!.includes(c.id));
  return all.filter((c) => c.id !== 'clusterize-sticky' && c.proxyProtocol !== true);
}

const app = (name: string) => fileURLToPath(new URL(`./apps/${name}.ts`, import.meta.url));

/** One request in ten burns 5, 10, 15 or 20 ms of CPU in the worker. */
export const UNEVEN_SHARE = 0.1;
function unevenPath(): string {
  if (Math.random() >= UNEVEN_SHARE) return '/';
  return `/burn?ms=${5 * (1 + Math.floor(Math.random() * 4))}`;
}

export const scenarios: readonly Scenario[] = [
  { id: 'keep-alive', label: 'keep-alive, 100 connections, plain http', app: app('http'), connections: 100, churn: false },
  { id: 'churn', label: 'a new connection per request, 50 at once, plain http', app: app('http'), connections: 50, churn: true },
  {
    id: 'uneven',
    label: 'uneven work: 10% of requests burn 5-20 ms of CPU, a new connection per request, 50 at once',
    app: app('http'), connections: 50, churn: true, path: unevenPath,
  },
  { id: 'express', label: 'Express 5, a new connection per request, 50 at once', app: app('express'), connections: 50, churn: true },
  { id: 'fastify', label: 'Fastify 5, a new connection per request, 50 at once', app: app('fastify'), connections: 50, churn: true },
  {
    // One worker, so both policies hand every connection to the same place: the difference
    // is what sticky adds on the forwarding path (getpeername and a hash per connection).
    // The -proxy pair reads a PROXY protocol v2 header first, and sticky hashes its address.
    id: 'sticky-cost',
    label: "sticky's cost on the forwarding path: 1 worker, a new connection per request, 50 at once; plain (one client address) and behind PROXY protocol v2 (a made-up address per connection)",
    app: app('http'), connections: 50, churn: true, workers: 1,
    contenders: ['node-cluster-rr', 'clusterize-round-robin', 'clusterize-sticky', 'clusterize-round-robin-proxy', 'clusterize-sticky-proxy'],
  },
];
