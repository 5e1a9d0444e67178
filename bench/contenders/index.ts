import { DEFAULT_POLICY, policyNames } from '@clusterize/core';
import { clusterize } from './clusterize.ts';
import { nodeClusterRoundRobin, nodeClusterShared } from './node-cluster.ts';
import { reusePortProcesses } from './reuseport.ts';
import { singleProcess } from './single.ts';

/** A running server under test. */
export interface Server {
  readonly port: number;
  /** The process that dispatches connections (its CPU time is measured); null where none does. */
  readonly primaryPid: number | null;
  /** One rolling reload of every worker; resolves once it has finished. */
  reload?(): Promise<void>;
  /** Stops it gracefully; resolves with what went wrong (a non-zero exit, a timeout), or null. */
  stop(): Promise<string | null>;
}

/** A way to run an app script with a number of workers. */
export interface Contender {
  readonly id: string;
  readonly label: string;
  /** False for the single process, where requests per worker mean nothing. */
  readonly cluster: boolean;
  /** It expects every connection to start with a PROXY protocol header, as from HAProxy's send-proxy-v2. */
  readonly proxyProtocol?: boolean;
  start(app: string, workers: number): Promise<Server>;
}

/** The baseline every ratio is computed against. */
export const BASELINE = 'node-cluster-rr';

export const contenders: readonly Contender[] = [
  singleProcess,
  nodeClusterRoundRobin,
  nodeClusterShared,
  reusePortProcesses,
  ...policyNames.map((policy) => clusterize(policy, policy === DEFAULT_POLICY)),
  clusterize('round-robin', false, { proxyProtocol: true }),
  clusterize('sticky', false, { proxyProtocol: true }),
];
