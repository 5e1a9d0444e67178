/** One value of prom-client's metrics JSON (getMetricsAsJSON): a series and its value. */
interface Sample {
  value: number;
  labels: Record<string, unknown>;
  /** Histograms and summaries: the series' own name (`<name>_bucket`, `_sum`, `_count`). */
  metricName?: string;
}

/** One metric of prom-client's metrics JSON, as AggregatorRegistry.aggregate reads it. */
interface Metric {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Sample[];
}

interface Family extends Omit<Metric, 'values'> {
  /** By series (metricName and labels): what the workers that are gone had counted. */
  series: Map<string, Sample>;
}

/**
 * What the workers that are gone had counted, so that the cluster's counters never go
 * down: a reload or a crash replaces workers, and a sum over the live ones alone drops by
 * what the old ones had counted, which Prometheus reads as a counter reset (increase() and
 * rate() then count the whole value again).
 *
 * Each answer a worker gives is its latest reading; when the worker exits, its last reading
 * of every cumulative series (counters, and the buckets, sums and counts of histograms and
 * summaries, each summed across workers) is added to a retired total that every later
 * aggregate includes. Gauges describe live processes and summary quantiles cannot be
 * summed: neither is kept. A draining worker sends a final reading as it exits; one that
 * crashed or was killed loses what it counted after the last reading that reached the
 * primary. The totals hold one value per series a gone worker had, so they are bounded by
 * the app's label cardinality.
 */
export class RetiredMetrics {
  private readonly last = new WeakMap<object, Metric[]>();
  private readonly gone = new WeakSet<object>();
  private readonly families = new Map<string, Family>();

  /**
   * `worker`'s latest reading (prom-client's JSON). A reading that arrives after its exit
   * (its final one can be read after the exit is seen) replaces the one it was retired with.
   */
  read(worker: object, answer: readonly unknown[]): void {
    const reading = cumulative(answer);
    if (this.gone.has(worker)) {
      this.add(this.last.get(worker) ?? [], -1);
      this.add(reading, 1);
    }
    this.last.set(worker, reading);
  }

  /** `worker` exited: its last reading counts in every aggregate from now on. */
  retire(worker: object): void {
    if (this.gone.has(worker)) return;
    this.gone.add(worker);
    this.add(this.last.get(worker) ?? [], 1);
  }

  isRetired(worker: object): boolean {
    return this.gone.has(worker);
  }

  /**
   * The retired totals as one more registry for AggregatorRegistry.aggregate to sum with
   * the `live` answers; a metric that a live worker has with another type or aggregator (a
   * new release changed it) is left out rather than summed into it.
   */
  registry(live: readonly unknown[][]): Metric[] {
    const kinds = new Map<string, string>();
    for (const answer of live) for (const metric of answer) if (isMetric(metric)) kinds.set(metric.name, kindOf(metric));
    const metrics: Metric[] = [];
    for (const { series, ...family } of this.families.values()) {
      const kind = kinds.get(family.name);
      if (kind === undefined || kind === kindOf(family)) metrics.push({ ...family, values: [...series.values()].map((sample) => ({ ...sample })) });
    }
    return metrics;
  }

  private add(reading: readonly Metric[], sign: 1 | -1): void {
    for (const { values, ...metric } of reading) {
      let family = this.families.get(metric.name);
      if (family === undefined || kindOf(family) !== kindOf(metric)) this.families.set(metric.name, family = { ...metric, series: new Map() });
      for (const sample of values) {
        const key = seriesKey(sample);
        const total = family.series.get(key);
        if (total === undefined) family.series.set(key, { ...sample, value: sign * sample.value });
        else total.value += sign * sample.value;
      }
    }
  }
}

/** The series of `answer` that only grow and are summed across workers. */
function cumulative(answer: readonly unknown[]): Metric[] {
  const metrics: Metric[] = [];
  for (const metric of answer) {
    if (!isMetric(metric) || metric.aggregator !== 'sum') continue;
    const values = metric.values.filter((sample) => isSample(sample)
      && (metric.type === 'counter' || ((metric.type === 'histogram' || metric.type === 'summary') && sample.metricName !== undefined)));
    if (values.length > 0) metrics.push({ name: metric.name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values });
  }
  return metrics;
}

function isMetric(value: unknown): value is Metric {
  if (value === null || typeof value !== 'object') return false;
  const metric = value as Record<string, unknown>;
  return typeof metric.name === 'string' && typeof metric.help === 'string' && typeof metric.type === 'string'
    && typeof metric.aggregator === 'string' && Array.isArray(metric.values);
}

function isSample(value: unknown): value is Sample {
  if (value === null || typeof value !== 'object') return false;
  const sample = value as Record<string, unknown>;
  return typeof sample.value === 'number' && Number.isFinite(sample.value)
    && sample.labels !== null && typeof sample.labels === 'object'
    && (sample.metricName === undefined || typeof sample.metricName === 'string');
}

function kindOf(metric: { type: string; aggregator: string }): string {
  return `${metric.type}/${metric.aggregator}`;
}

function seriesKey(sample: Sample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([sample.metricName ?? '', labels]);
}
