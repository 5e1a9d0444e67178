// One scenario, interleaved: every contender is started and warmed up once, then each round
// measures every contender in turn (the order rotated by one each round), so that whatever
// else the machine is doing at a given moment weighs on all of them alike.
import type { Contender, Server } from './contenders/index.ts';
import { cpuTimeMs } from './cpu.ts';
import { measureLoad, type LoadOptions, type Measured } from './load.ts';
import type { Scenario } from './scenarios.ts';

export interface Settings {
  rounds: number;
  /** Measured seconds per trial. */
  seconds: number;
  /** Unmeasured load after each start (JIT warm-up); 0 for none. */
  warmupSeconds: number;
  workers: number;
  /** Rolling reloads per reload-under-load run; 0 skips that scenario. */
  reloads: number;
  /** The scenarios whose load runs during the reloads. */
  reloadUnder: readonly string[];
}

/** One contender measured once in one scenario. */
export interface Trial {
  round: number;
  contender: string;
  measured: Measured | null;
  /** CPU time the primary spent during the measured load, in ms; null where there is no primary. */
  primaryCpuMs: number | null;
  /** What went wrong: a failed start, a load error, an unclean stop. */
  problem: string | null;
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

async function measure(server: Server, scenario: Scenario, load: Omit<LoadOptions, 'seconds'>, round: number, id: string, seconds: number): Promise<Trial> {
  const trial: Trial = { round, contender: id, measured: null, primaryCpuMs: null, problem: null };
  try {
    const pid = server.primaryPid;
    const cpuBefore = pid === null ? null : cpuTimeMs(pid);
    const measured = await measureLoad({ ...load, seconds });
    const cpuAfter = pid === null ? null : cpuTimeMs(pid);
    trial.measured = measured;
    if (cpuBefore !== null && cpuAfter !== null) trial.primaryCpuMs = cpuAfter - cpuBefore;
    if (scenario.churn && measured.connections !== measured.responses) {
      trial.problem = `${measured.responses - measured.connections} of ${measured.responses} responses came on a reused connection`;
    }
  } catch (error) {
    trial.problem = firstLine(error);
  }
  return trial;
}

export async function runScenario(scenario: Scenario, contenders: readonly Contender[], settings: Settings, log: (trial: Trial) => void): Promise<Trial[]> {
  const servers = new Map<Contender, Server>();
  const failedStarts = new Map<Contender, string>();
  const trials: Trial[] = [];
  const loadFor = (contender: Contender, server: Server) => ({
    port: server.port, connections: scenario.connections, churn: scenario.churn, ...(scenario.path ? { path: scenario.path } : {}),
    ...(contender.proxyProtocol === true ? { proxyProtocol: true } : {}),
  });
  try {
    for (const contender of contenders) {
      let server: Server;
      try {
        server = await contender.start(scenario.app, scenario.workers ?? settings.workers);
      } catch (error) {
        failedStarts.set(contender, firstLine(error));
        continue;
      }
      servers.set(contender, server);
      // A failed warm-up shows again in the measured rounds.
      if (settings.warmupSeconds > 0) await measureLoad({ ...loadFor(contender, server), seconds: settings.warmupSeconds }).catch(() => undefined);
    }
    for (let round = 1; round <= settings.rounds; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(i + round - 1) % contenders.length]!;
        const server = servers.get(contender);
        const trial = server === undefined
          ? { round, contender: contender.id, measured: null, primaryCpuMs: null, problem: `did not start: ${failedStarts.get(contender)}` }
          : await measure(server, scenario, loadFor(contender, server), round, contender.id, settings.seconds);
        trials.push(trial);
        log(trial);
      }
    }
  } finally {
    for (const [contender, server] of servers) {
      const problem = await server.stop();
      const last = trials.findLast((trial) => trial.contender === contender.id);
      if (problem !== null && last !== undefined) last.problem = [last.problem, `stop: ${problem}`].filter(Boolean).join('; ');
    }
  }
  return trials;
}
