// Reload under load: rolling reloads while autocannon keeps the server busy, counting every
// request that failed. A reload that drops nothing shows zero errors and a new pid for every
// worker it replaced.
import { DEFAULT_POLICY } from '@clusterize/core';
import { clusterize } from './contenders/clusterize.ts';
import type { Contender } from './contenders/index.ts';
import { nodeClusterRoundRobin } from './contenders/node-cluster.ts';
import { pm2Cluster } from './contenders/pm2.ts';
import { startLoad } from './load.ts';
import type { Scenario } from './scenarios.ts';
import type { Settings } from './rounds.ts';

export const reloadContenders: readonly Contender[] = [clusterize(DEFAULT_POLICY, true), nodeClusterRoundRobin, pm2Cluster];

/** Load that would outlast any run; the run stops it once the reloads are done. */
const LOAD_CAP_SECONDS = 300;
const SETTLE_MS = 1_000;
const BETWEEN_RELOADS_MS = 500;

export interface ReloadResult {
  contender: string;
  label: string;
  load: string;
  reloadsRequested: number;
  reloadsDone: number;
  /** Seconds each reload took, as its contender reported it finished. */
  reloadSeconds: number[];
  responses: number;
  errors: number;
  socketErrors: number;
  timeouts: number;
  non2xx: number;
  /** Distinct worker pids that answered: workers x (1 + reloads) when every worker was replaced. */
  workersSeen: number;
  problem: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function reloadUnderLoad(contender: Contender, scenario: Scenario, settings: Settings): Promise<ReloadResult> {
  const result: ReloadResult = {
    contender: contender.id, label: contender.label, load: scenario.label,
    reloadsRequested: settings.reloads, reloadsDone: 0, reloadSeconds: [],
    responses: 0, errors: 0, socketErrors: 0, timeouts: 0, non2xx: 0, workersSeen: 0, problem: null,
  };
  let server;
  try {
    server = await contender.start(scenario.app, settings.workers);
    const load = startLoad({ port: server.port, connections: scenario.connections, churn: scenario.churn, seconds: LOAD_CAP_SECONDS, timeoutSeconds: 5 });
    try {
      await sleep(SETTLE_MS);
      for (let i = 0; i < settings.reloads; i++) {
        if (server.reload === undefined) throw new Error(`${contender.label} cannot reload`);
        const startedAt = performance.now();
        await server.reload();
        result.reloadSeconds.push((performance.now() - startedAt) / 1000);
        result.reloadsDone++;
        await sleep(BETWEEN_RELOADS_MS);
      }
      await sleep(SETTLE_MS);
    } catch (error) {
      result.problem = (error as Error).message.split('\n')[0] ?? String(error);
    }
    load.stop();
    const measured = await load.done;
    Object.assign(result, {
      responses: measured.responses,
      errors: measured.errors,
      socketErrors: measured.socketErrors,
      timeouts: measured.timeouts,
      non2xx: measured.non2xx,
      workersSeen: Object.keys(measured.perWorker).length,
    });
  } catch (error) {
    result.problem ??= (error as Error).message.split('\n')[0] ?? String(error);
  }
  const stopProblem = await server?.stop();
  result.problem ??= stopProblem ?? null;
  return result;
}
