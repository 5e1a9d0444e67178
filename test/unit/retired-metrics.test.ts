import { describe, expect, it } from 'vitest';
import { RetiredMetrics } from '../../packages/core/src/admin/retired-metrics.ts';

/** One metric as prom-client's getMetricsAsJSON gives it. */
const metric = (name: string, type: string, values: { value: number; labels?: Record<string, unknown>; metricName?: string }[], aggregator = 'sum') =>
  ({ name, help: name, type, aggregator, values: values.map(({ labels = {}, ...rest }) => ({ labels, ...rest })) });

const counter = (value: number, labels: Record<string, unknown> = {}) => metric('requests_total', 'counter', [{ value, labels }]);

/** The retired value of each series, as `metricName{labels}`. */
function values(retired: RetiredMetrics, live: unknown[][] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { name, values: samples } of retired.registry(live)) {
    for (const { metricName, labels, value } of samples) out[`${metricName ?? name}${JSON.stringify(labels)}`] = value;
  }
  return out;
}

describe('RetiredMetrics', () => {
  it('adds up the last reading of every worker that exited, and nothing of those still running', () => {
    const retired = new RetiredMetrics();
    const [a, b, c] = [{}, {}, {}];
    retired.read(a, [counter(2)]);
    retired.read(a, [counter(5)]);
    retired.read(b, [counter(3)]);
    retired.read(c, [counter(7)]);
    retired.retire(a);
    retired.retire(b);
    retired.retire(b);
    expect(values(retired)).toEqual({ 'requests_total{}': 8 });
    expect([a, b, c].map((worker) => retired.isRetired(worker))).toEqual([true, true, false]);
  });

  it('keeps counters, histogram series and summary sums and counts; not gauges, quantiles or metrics not summed', () => {
    const retired = new RetiredMetrics();
    const worker = {};
    retired.read(worker, [
      metric('open', 'gauge', [{ value: 4 }]),
      metric('latency', 'histogram', [
        { value: 1, labels: { le: 0.1 }, metricName: 'latency_bucket' },
        { value: 0.05, metricName: 'latency_sum' },
        { value: 1, metricName: 'latency_count' },
      ]),
      metric('size', 'summary', [
        { value: 12, labels: { quantile: 0.5 } },
        { value: 30, metricName: 'size_sum' },
        { value: 2, metricName: 'size_count' },
      ]),
      metric('build_total', 'counter', [{ value: 1 }], 'first'),
      { broken: true },
    ]);
    retired.retire(worker);
    expect(values(retired)).toEqual({
      'latency_bucket{"le":0.1}': 1, 'latency_sum{}': 0.05, 'latency_count{}': 1, 'size_sum{}': 30, 'size_count{}': 2,
    });
  });

  it('keeps series apart by labels, whatever their order', () => {
    const retired = new RetiredMetrics();
    const [a, b] = [{}, {}];
    retired.read(a, [metric('requests_total', 'counter', [{ value: 1, labels: { code: 200, path: '/' } }, { value: 4, labels: { code: 500, path: '/' } }])]);
    retired.read(b, [counter(2, { path: '/', code: 200 })]);
    retired.retire(a);
    retired.retire(b);
    expect(values(retired)).toEqual({ 'requests_total{"code":200,"path":"/"}': 3, 'requests_total{"code":500,"path":"/"}': 4 });
  });

  it('takes a reading that arrives after the exit (a final one) in place of the last one', () => {
    const retired = new RetiredMetrics();
    const worker = {};
    retired.read(worker, [counter(5)]);
    retired.retire(worker);
    retired.read(worker, [counter(9)]);
    expect(values(retired)).toEqual({ 'requests_total{}': 9 });
  });

  it('leaves out a metric that live workers now have with another type', () => {
    const retired = new RetiredMetrics();
    const worker = {};
    retired.read(worker, [counter(5)]);
    retired.retire(worker);
    expect(values(retired, [[counter(1)]])).toEqual({ 'requests_total{}': 5 });
    expect(values(retired, [[metric('requests_total', 'gauge', [{ value: 1 }])]])).toEqual({});
  });
});
