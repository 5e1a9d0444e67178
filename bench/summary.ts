import { DEFAULT_POLICY } from '@clusterize/core';
import { BASELINE, type Contender } from './contenders/index.ts';
import type { Scenario } from './scenarios.ts';
import { balance, median } from './stats.ts';
import type { Trial } from './rounds.ts';

/** One contender in one scenario: medians over the rounds. */
export interface Row {
  contender: string;
  label: string;
  /** Rounds that produced a measurement. */
  measured: number;
  requestsPerSecond: number;
  /** Half the range of requests/s over the rounds, as a fraction of the median: the noise. */
  spread: number;
  p50: number;
  p99: number;
  /** Summed over all rounds. */
  errors: number;
  /** Responses per worker in the round with the median requests/s, busiest first; empty for the single process. */
  perWorker: number[];
  /** Median over the rounds of busiest/idlest worker; null for the single process. */
  balance: number | null;
  /** Median primary CPU ms per 1,000 connections served; null where there is no primary. */
  cpuPer1000: number | null;
  /** This row over node:cluster round-robin's, from the same run. */
  vsBaseline: { requestsPerSecond: number; p99: number; cpuPer1000: number | null };
  problems: string[];
}

export interface ScenarioResult {
  id: string;
  label: string;
  rows: Row[];
  trials: Trial[];
}

export function summarize(scenario: Scenario, contenders: readonly Contender[], trials: readonly Trial[], workers: number): ScenarioResult {
  const rows = contenders.map((contender) => row(contender, trials.filter((trial) => trial.contender === contender.id), workers));
  const baseline = rows.find((r) => r.contender === BASELINE);
  for (const r of rows) {
    r.vsBaseline = {
      requestsPerSecond: r.requestsPerSecond / (baseline?.requestsPerSecond ?? NaN),
      p99: r.p99 / (baseline?.p99 ?? NaN),
      cpuPer1000: r.cpuPer1000 === null || baseline?.cpuPer1000 == null ? null : r.cpuPer1000 / baseline.cpuPer1000,
    };
  }
  return { id: scenario.id, label: scenario.label, rows, trials: [...trials] };
}

function row(contender: Contender, trials: readonly Trial[], workers: number): Row {
  const measured = trials.flatMap((trial) => (trial.measured === null ? [] : [{ ...trial, measured: trial.measured }]));
  const rates = measured.map((t) => t.measured.requestsPerSecond);
  const rps = median(rates);
  const medianTrial = measured.toSorted((a, b) => Math.abs(a.measured.requestsPerSecond - rps) - Math.abs(b.measured.requestsPerSecond - rps))[0];
  const cpu = measured.flatMap((t) => (t.primaryCpuMs === null || t.measured.connections === 0 ? [] : [(t.primaryCpuMs / t.measured.connections) * 1000]));
  return {
    contender: contender.id,
    label: contender.label,
    measured: measured.length,
    requestsPerSecond: rps,
    spread: (Math.max(...rates) - Math.min(...rates)) / 2 / rps,
    p50: median(measured.map((t) => t.measured.p50)),
    p99: median(measured.map((t) => t.measured.p99)),
    errors: measured.reduce((sum, t) => sum + t.measured.errors, 0),
    perWorker: contender.cluster && medianTrial ? Object.values(medianTrial.measured.perWorker).sort((a, b) => b - a) : [],
    balance: contender.cluster ? median(measured.map((t) => balance(t.measured.perWorker, workers))) : null,
    cpuPer1000: cpu.length === 0 ? null : median(cpu),
    vsBaseline: { requestsPerSecond: NaN, p99: NaN, cpuPer1000: null },
    problems: trials.flatMap((t) => (t.problem === null ? [] : [`round ${t.round}: ${t.problem}`])),
  };
}

export interface Target {
  scenario: string;
  goal: string;
  measured: string;
  met: boolean;
}

const DEFAULT = `clusterize-${DEFAULT_POLICY}`;

/** The targets of issue 4, checked against this run's medians. */
export function checkTargets(results: readonly ScenarioResult[]): Target[] {
  const targets: Target[] = [];
  const get = (scenario: string, contender: string) => results.find((r) => r.id === scenario)?.rows.find((r) => r.contender === contender);
  const ratio = (scenario: string, contender: string, over: string, figure: 'requestsPerSecond' | 'p99') => {
    const a = get(scenario, contender)?.[figure];
    const b = get(scenario, over)?.[figure];
    return a === undefined || b === undefined ? NaN : a / b;
  };
  const add = (scenario: string, goal: string, value: number, met: boolean, unit = 'x') => {
    targets.push({ scenario, goal, measured: Number.isFinite(value) ? `${value.toFixed(2)}${unit}` : 'n/a', met: Number.isFinite(value) && met });
  };

  const churnDefault = ratio('churn', DEFAULT, BASELINE, 'requestsPerSecond');
  add('churn', `default (${DEFAULT_POLICY}) >= 1.5x node:cluster round-robin`, churnDefault, churnDefault >= 1.5);
  const churnVsNone = ratio('churn', DEFAULT, 'node-cluster-none', 'requestsPerSecond');
  add('churn', `default (${DEFAULT_POLICY}) >= 0.9x node:cluster SCHED_NONE`, churnVsNone, churnVsNone >= 0.9);
  const rr = ratio('churn', 'clusterize-round-robin', BASELINE, 'requestsPerSecond');
  add('churn', 'round-robin >= 1.0x node:cluster round-robin', rr, rr >= 1.0);
  const cpu = get('churn', 'clusterize-round-robin')?.vsBaseline.cpuPer1000 ?? NaN;
  add('churn', 'round-robin: less primary CPU per connection than node:cluster round-robin', cpu, cpu < 1.0);
  const keepAlive = ratio('keep-alive', DEFAULT, BASELINE, 'requestsPerSecond');
  add('keep-alive', `default (${DEFAULT_POLICY}) >= node:cluster round-robin (0.95x allowed for noise)`, keepAlive, keepAlive >= 0.95);
  for (const policy of new Set([DEFAULT_POLICY, 'least-connections'])) {
    const p99 = ratio('uneven', `clusterize-${policy}`, BASELINE, 'p99');
    add('uneven', `${policy}: p99 <= 0.5x node:cluster round-robin's`, p99, p99 <= 0.5);
    const spread = get('uneven', `clusterize-${policy}`)?.balance ?? NaN;
    add('uneven', `${policy}: balance max/min <= 1.2`, spread, spread <= 1.2, '');
  }
  const sticky = ratio('sticky-cost', 'clusterize-sticky', 'clusterize-round-robin', 'requestsPerSecond');
  add('sticky-cost', 'sticky within 5% of round-robin on the forwarding path (or faster)', sticky, sticky >= 0.95);
  const stickyProxy = ratio('sticky-cost', 'clusterize-sticky-proxy', 'clusterize-round-robin-proxy', 'requestsPerSecond');
  add('sticky-cost', 'with PROXY protocol: sticky within 5% of round-robin (or faster)', stickyProxy, stickyProxy >= 0.95);
  for (const scenario of ['churn', 'keep-alive']) {
    const shared = ratio(scenario, 'clusterize-shared', 'node-cluster-none', 'requestsPerSecond');
    add(scenario, 'shared within 5% of node:cluster SCHED_NONE (or faster)', shared, shared >= 0.95);
    const reuse = ratio(scenario, 'clusterize-reuseport', 'node-reuseport', 'requestsPerSecond');
    add(scenario, 'reuseport within 5% of Node reusePort processes (or faster)', reuse, reuse >= 0.95);
  }
  return targets;
}
