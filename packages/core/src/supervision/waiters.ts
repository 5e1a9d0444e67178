import type { ClusterizeError } from '../errors.js';

interface Pending {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * Promises handed out by the cluster's operations, settled by the supervisor when the
 * recorded state reaches what each one waits for: start-up (enough ready workers), a reload
 * (no worker older than its generation), a scale (exactly the target, all current).
 */
export class Waiters {
  private readonly start = Promise.withResolvers<void>();
  private startSettled = false;
  private reloads: (Pending & { generation: number })[] = [];
  private steadies: Pending[] = [];

  get started(): Promise<void> {
    return this.start.promise;
  }

  get reloading(): boolean {
    return this.reloads.length > 0;
  }

  /** Resolves start-up; true when this call did it. */
  resolveStarted(): boolean {
    if (this.startSettled) return false;
    this.startSettled = true;
    this.start.resolve();
    return true;
  }

  failStarted(error: ClusterizeError): void {
    if (this.startSettled) return;
    this.startSettled = true;
    this.start.reject(error);
  }

  reload(generation: number): Promise<void> {
    return new Promise((resolve, reject) => this.reloads.push({ generation, resolve, reject }));
  }

  steady(): Promise<void> {
    return new Promise((resolve, reject) => this.steadies.push({ resolve, reject }));
  }

  settleReloads(done: (generation: number) => boolean): void {
    const settled = this.reloads.filter((waiter) => done(waiter.generation));
    if (settled.length === 0) return;
    this.reloads = this.reloads.filter((waiter) => !settled.includes(waiter));
    for (const waiter of settled) waiter.resolve();
  }

  resolveSteady(): void {
    for (const waiter of this.steadies.splice(0)) waiter.resolve();
  }

  failReloads(error: ClusterizeError): void {
    for (const waiter of this.reloads.splice(0)) waiter.reject(error);
  }

  failSteady(error: ClusterizeError): void {
    for (const waiter of this.steadies.splice(0)) waiter.reject(error);
  }

  /** Every operation still waiting fails with `error` (shutdown, a start-up that cannot succeed). */
  cancel(error: ClusterizeError): void {
    this.failReloads(error);
    this.failSteady(error);
  }
}
