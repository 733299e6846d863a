/**
 * Prometheus metrics: one registry per running storeflow. prom-client's default process and Node.js
 * metrics keep their conventional names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, …),
 * which stock Node.js dashboards query; storeflow's own are all named storeflow_….
 */
import client from 'prom-client';

export interface Metrics {
  registry: client.Registry;
  counter(name: string, help: string, labelNames?: string[]): client.Counter<string>;
  gauge(name: string, help: string, labelNames?: string[]): client.Gauge<string>;
  histogram(name: string, help: string, labelNames?: string[], buckets?: number[]): client.Histogram<string>;
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const made = new Map<string, client.Metric<string>>();
  const once = <M extends client.Metric<string>>(name: string, make: () => M): M => {
    let m = made.get(name) as M | undefined;
    if (!m) {
      m = make();
      made.set(name, m);
    }
    return m;
  };
  return {
    registry,
    counter: (name, help, labelNames = []) => once(name, () => new client.Counter({ name, help, labelNames, registers: [registry] })),
    gauge: (name, help, labelNames = []) => once(name, () => new client.Gauge({ name, help, labelNames, registers: [registry] })),
    histogram: (name, help, labelNames = [], buckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5]) =>
      once(name, () => new client.Histogram({ name, help, labelNames, buckets, registers: [registry] })),
  };
}
