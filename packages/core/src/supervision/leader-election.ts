/** One worker as the election sees it: facts only. */
export interface Voter {
  readonly id: number;
  readonly slot: number;
  readonly generation: number;
  /** Announced ready: it gets connections (phase serving). */
  readonly serving: boolean;
  /** On its way out (draining, retired, hung), or gone. */
  readonly leaving: boolean;
}

/** One lead name's lease, as the primary holds it. */
export interface Lease {
  /** The worker elected last, until its job has ended ('leadEnded') or its process is gone. */
  readonly holder: number | undefined;
  /** Workers that run for leader of this name (they called lead() and have not resigned). */
  readonly candidates: ReadonlySet<number>;
}

/**
 * The worker to elect leader of a lead name now, if any: the primary's one decision about
 * leaders, pure so that each situation is a row of its unit test.
 *
 * - Never two at once: while the lease has a holder, nobody is elected. A holder stops
 *   leading when it starts to leave (a drain, for any reason, aborts its job) and frees the
 *   lease once its job has settled; a crashed or killed one (hung: SIGSTOP, a busy loop)
 *   frees it with its exit. So the next leader never starts before the last one's job has
 *   settled or its process is gone, also during a reload.
 * - Only a candidate that serves and is not leaving is elected, so a leader is not elected
 *   just to step down again: workers of the newest release first (`generation`), then the
 *   lowest slot, then the oldest worker. Without one, nobody leads until one is ready (a
 *   replacement: its app runs for leader as it starts).
 */
export function electLeader(lease: Lease, voters: readonly Voter[], generation: number): number | undefined {
  if (lease.holder !== undefined) return undefined;
  const eligible = voters.filter((voter) => lease.candidates.has(voter.id) && voter.serving && !voter.leaving);
  eligible.sort((a, b) => Number(b.generation >= generation) - Number(a.generation >= generation) || a.slot - b.slot || a.id - b.id);
  return eligible[0]?.id;
}
