import { clusterizeTypeError } from '../errors.js';
import type { LeadJob, LeadOptions } from '../message-types.js';
import { checkFunction, checkName } from '../payload.js';
import type { WorkerMessage } from '../protocol.js';
import { describe } from './guard.js';

/** The lead name of lead() without one. */
export const DEFAULT_LEAD = 'default';

/** This worker running for leader of one name, and its term while it leads. */
interface Candidacy {
  readonly job: LeadJob;
  term?: number;
  controller?: AbortController;
  /** The job has not settled yet. */
  running: boolean;
  /** 'leadEnded' went out for its term. */
  ended: boolean;
}

/** What the worker's leadership needs from the runtime. */
interface LeadsHost {
  /** False when the channel to the primary is gone. */
  send(message: WorkerMessage): boolean;
  /** The 'lead' event. */
  announce(term: number, name: string): void;
  log(line: string): void;
  /** `worker 3 (pid 1234)`. */
  readonly who: string;
}

/**
 * A worker's side of lead(): it runs for leader of a name with the primary, which elects
 * one worker per name at a time (see supervision/leader-election.ts). Elected, it runs the
 * job with an AbortSignal and its term; when it stops leading (it drains, for whatever
 * reason, or the app resigns) the signal aborts, and once the job has settled the primary
 * hears 'leadEnded' and may elect the next. A job that settles while this worker still
 * leads has done its work: the worker keeps leading, so no other runs it meanwhile.
 */
export class WorkerLeads {
  private readonly candidacies = new Map<string, Candidacy>();
  /** The worker drains: it stepped down and runs for nothing any more. */
  private stopped = false;
  private readonly settledWaiters = new Set<() => void>();

  constructor(private readonly host: LeadsHost) {}

  /** True while this worker leads under any name: elected, and its signal not aborted. */
  get isLeader(): boolean {
    for (const candidacy of this.candidacies.values()) if (candidacy.controller?.signal.aborted === false) return true;
    return false;
  }

  lead(job: LeadJob, options: LeadOptions = {}): () => void {
    checkFunction(job, 'a lead job');
    const name = checkName(options?.name ?? DEFAULT_LEAD, 'a lead name');
    if (this.candidacies.has(name)) {
      throw clusterizeTypeError('ERR_CLUSTERIZE_INVALID_ARGUMENT', `this worker already runs for leader of '${name}'; call the function lead() returned before running again`);
    }
    // A draining worker is elected no more.
    if (this.stopped) return () => {};
    const candidacy: Candidacy = { job, running: false, ended: false };
    this.candidacies.set(name, candidacy);
    this.host.send({ act: 'leadWanted', name });
    return () => this.resign(name, candidacy);
  }

  /** The primary elected this worker for `name` in `term`; one that no longer runs for it declines at once. */
  granted(name: string, term: number): void {
    const candidacy = this.candidacies.get(name);
    if (candidacy === undefined || candidacy.term !== undefined || this.stopped) {
      this.host.send({ act: 'leadEnded', name, term });
      return;
    }
    candidacy.term = term;
    candidacy.controller = new AbortController();
    candidacy.running = true;
    this.host.announce(term, name);
    const failed = (error: unknown) => this.host.log(`clusterize: ${this.host.who}: the lead job '${name}' (term ${term}) failed; this worker still leads: ${describe(error)}`);
    let result: unknown;
    try {
      result = candidacy.job(candidacy.controller.signal, term);
    } catch (error) {
      failed(error);
    }
    void Promise.resolve(result).catch(failed).finally(() => {
      candidacy.running = false;
      if (candidacy.controller!.signal.aborted) this.end(name, candidacy);
      for (const wake of this.settledWaiters) wake();
    });
  }

  /** The worker drains: every job's signal aborts, and it runs for nothing from now on. */
  stepDown(why: string): void {
    this.stopped = true;
    for (const [name, candidacy] of this.candidacies) this.abort(name, candidacy, why);
  }

  /** Resolves once no job of this worker runs any more, or at `deadline`. */
  settled(deadline: number): Promise<void> {
    const running = () => [...this.candidacies.values()].some((candidacy) => candidacy.running);
    if (!running()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.settledWaiters.delete(wake);
        resolve();
      };
      const wake = () => running() || finish();
      const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
      this.settledWaiters.add(wake);
    });
  }

  private resign(name: string, candidacy: Candidacy): void {
    if (this.candidacies.get(name) !== candidacy) return;
    this.candidacies.delete(name);
    this.host.send({ act: 'leadWithdrawn', name });
    this.abort(name, candidacy, 'the app resigned');
  }

  private abort(name: string, candidacy: Candidacy, why: string): void {
    const { controller } = candidacy;
    if (controller === undefined || controller.signal.aborted) return;
    controller.abort(new DOMException(`this worker stops leading '${name}': ${why}`, 'AbortError'));
    if (!candidacy.running) this.end(name, candidacy);
  }

  private end(name: string, candidacy: Candidacy): void {
    if (candidacy.ended || candidacy.term === undefined) return;
    candidacy.ended = true;
    this.host.send({ act: 'leadEnded', name, term: candidacy.term });
  }
}
