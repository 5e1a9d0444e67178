import type { WorkerProcess } from '../supervision/worker-process.js';
import { electLeader, type Lease, type Voter } from '../supervision/leader-election.js';

/** One lead name's lease: who holds it, in which term, and who runs for it. */
interface LeaseRecord {
  holder: number | undefined;
  /** The last term granted: one more for each leader elected under this name. */
  term: number;
  readonly candidates: Set<number>;
}

interface LeadershipHost {
  /** The workers alive now. */
  workers(): Iterable<WorkerProcess>;
  /** The newest release asked for (a reload bumps it). */
  generation(): number;
  /** A worker was elected: it has been told. */
  elected(worker: WorkerProcess, name: string, term: number): void;
}

/**
 * The primary's lease table for lead(): per lead name the holder, its term and the
 * candidates. Facts (a worker runs, resigns, its job ended, it became ready, it exited)
 * update the table, then `review()` asks electLeader() (supervision/leader-election.ts)
 * whether to elect someone, and tells the elected worker.
 */
export class Leadership {
  private readonly leases = new Map<string, LeaseRecord>();
  private reviewQueued = false;

  constructor(private readonly host: LeadershipHost) {}

  wanted(worker: WorkerProcess, name: string): void {
    let lease = this.leases.get(name);
    if (lease === undefined) this.leases.set(name, lease = { holder: undefined, term: 0, candidates: new Set() });
    lease.candidates.add(worker.id);
    this.review();
  }

  withdrawn(worker: WorkerProcess, name: string): void {
    this.leases.get(name)?.candidates.delete(worker.id);
  }

  /** Its job for `name` in `term` has settled (or it declined the term): the lease is free. */
  ended(worker: WorkerProcess, name: string, term: number): void {
    const lease = this.leases.get(name);
    if (lease === undefined || lease.holder !== worker.id || lease.term !== term) return;
    lease.holder = undefined;
    this.review();
  }

  /** The worker's process is gone: whatever it held is free. */
  exited(worker: WorkerProcess): void {
    for (const lease of this.leases.values()) {
      lease.candidates.delete(worker.id);
      if (lease.holder === worker.id) lease.holder = undefined;
    }
    this.review();
  }

  /** The leader of `name` now (elected, its job not yet ended), if any. */
  holder(name: string): number | undefined {
    return this.leases.get(name)?.holder;
  }

  /**
   * Elects a leader for every lease without one, where a candidate can lead: once the fact
   * that asked for it has been told (the exit of the last leader is logged before the next one).
   */
  review(): void {
    if (this.reviewQueued || this.leases.size === 0) return;
    this.reviewQueued = true;
    queueMicrotask(() => {
      this.reviewQueued = false;
      this.elect();
    });
  }

  private elect(): void {
    const workers = new Map<number, WorkerProcess>();
    for (const worker of this.host.workers()) workers.set(worker.id, worker);
    const voters: Voter[] = [...workers.values()].map((worker) => ({
      id: worker.id, slot: worker.slot, generation: worker.generation,
      serving: worker.routable, leaving: worker.leaving !== undefined || worker.hung !== undefined || !worker.alive,
    }));
    for (const [name, lease] of this.leases) {
      const elected = electLeader(lease satisfies Lease, voters, this.host.generation());
      if (elected === undefined) continue;
      const worker = workers.get(elected)!;
      lease.holder = elected;
      lease.term++;
      // A worker whose channel is already gone frees the lease with its exit.
      worker.post({ act: 'leadGranted', name, term: lease.term });
      this.host.elected(worker, name, lease.term);
    }
  }
}
