// A pool kept busy through one rolling reload: once the reload has finished, how the
// requests fall over the new workers, second by second. The old workers' connections are
// closed by their drain and reopened by the client, so they land wherever the policy puts
// them while the survivors keep theirs.
import type { Server } from '../contenders/index.ts';
import { startLoad } from '../load.ts';
import type { PoolSettings } from './repetitions.ts';
import { SplitCounter, type Ratios, type Split } from './split.ts';

export interface ReloadWindows {
  /** How long server.reload() took, in seconds. */
  reloadSeconds: number;
  /** The split of each 1 s window after the reload finished, in order. */
  windows: (Split & { ratios: Ratios })[];
  responses: number;
  errors: number;
}

/** Longer than any run; the load is stopped once the windows are over. */
const LOAD_CAP_SECONDS = 300;
/** The pool is open and busy before the reload starts. */
const BEFORE_RELOAD_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function afterReload(server: Server, settings: PoolSettings, windows: number): Promise<ReloadWindows> {
  if (server.reload === undefined) throw new Error('this contender cannot reload');
  const counters = Array.from({ length: windows }, () => new SplitCounter());
  let reloadedAt: number | null = null;
  const load = startLoad({
    port: server.port, connections: settings.connections, churn: false, seconds: LOAD_CAP_SECONDS, timeoutSeconds: 5,
    onResponse: (pid, socketId) => {
      if (reloadedAt === null) return;
      counters[Math.floor((performance.now() - reloadedAt) / 1000)]?.add(pid, socketId);
    },
  });
  let reloadSeconds: number;
  try {
    await sleep(BEFORE_RELOAD_MS);
    const startedAt = performance.now();
    await server.reload();
    reloadedAt = performance.now();
    reloadSeconds = (reloadedAt - startedAt) / 1000;
    await sleep(windows * 1000);
  } catch (error) {
    load.stop();
    await load.done.catch(() => undefined);
    throw error;
  }
  load.stop();
  const measured = await load.done;
  return {
    reloadSeconds,
    windows: counters.map((counter) => ({ ...counter.split, ratios: counter.ratios(settings.workers) })),
    responses: measured.responses,
    errors: measured.errors,
  };
}
