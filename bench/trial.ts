import type { Contender } from './contenders/index.ts';
import { cpuTimeMs } from './cpu.ts';
import { measureLoad, type Measured } from './load.ts';
import type { Scenario } from './scenarios.ts';

export interface Settings {
  rounds: number;
  /** Measured seconds per trial. */
  seconds: number;
  /** Unmeasured load before each measured one (JIT warm-up); 0 for none. */
  warmupSeconds: number;
  workers: number;
  /** Rolling reloads per reload-under-load run; 0 skips that scenario. */
  reloads: number;
  /** The scenarios whose load runs during the reloads. */
  reloadUnder: readonly string[];
}

/** One contender serving one scenario once: started, warmed up, measured, stopped. */
export interface Trial {
  round: number;
  contender: string;
  measured: Measured | null;
  /** CPU time the primary spent during the measured load, in ms; null where there is no primary. */
  primaryCpuMs: number | null;
  /** What went wrong: a failed start, a load error, an unclean stop. */
  problem: string | null;
}

export async function runTrial(scenario: Scenario, contender: Contender, round: number, settings: Settings): Promise<Trial> {
  const trial: Trial = { round, contender: contender.id, measured: null, primaryCpuMs: null, problem: null };
  let server;
  try {
    server = await contender.start(scenario.app, settings.workers);
    const load = { port: server.port, connections: scenario.connections, churn: scenario.churn, ...(scenario.path ? { path: scenario.path } : {}) };
    if (settings.warmupSeconds > 0) await measureLoad({ ...load, seconds: settings.warmupSeconds });
    const pid = server.primaryPid;
    const cpuBefore = pid === null ? null : cpuTimeMs(pid);
    const measured = await measureLoad({ ...load, seconds: settings.seconds });
    const cpuAfter = pid === null ? null : cpuTimeMs(pid);
    trial.measured = measured;
    if (cpuBefore !== null && cpuAfter !== null) trial.primaryCpuMs = cpuAfter - cpuBefore;
    if (scenario.churn && measured.connections !== measured.responses) {
      trial.problem = `${measured.responses - measured.connections} of ${measured.responses} responses came on a reused connection`;
    }
  } catch (error) {
    trial.problem = (error as Error).message.split('\n')[0] ?? String(error);
  }
  const stopProblem = await server?.stop();
  trial.problem ??= stopProblem ?? null;
  return trial;
}
