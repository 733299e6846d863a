/**
 * HTTP request metrics, the way Prometheus dashboards expect them: a duration histogram and a count by
 * method, route (the route's pattern, e.g. `/sessions/:id`, not the raw URL, so ids do not multiply
 * series; `unmatched` for a 404 with no route) and status code. Probes and scrapes (liveness, readiness,
 * /metrics, the docs) are left out: they would dominate the figures and say nothing about the service.
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.ts';

export const UNMEASURED_ROUTES = ['/healthcheck', '/health', '/readyz', '/metrics', '/pump/healthcheck'];

/** On every server of the process (the control plane, the gateway's internal API): their routes differ, so one set of series. */
export function useRequestMetrics(app: FastifyInstance, metrics: Metrics, o: { skip?: string[] } = {}): void {
  const labels = ['method', 'route', 'status_code'];
  const duration = metrics.histogram(
    'storeflow_http_request_duration_seconds',
    'HTTP request duration, by method, route and status code',
    labels,
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  const count = metrics.counter('storeflow_http_requests_total', 'HTTP requests answered, by method, route and status code', labels);
  const skip = new Set(o.skip ?? UNMEASURED_ROUTES);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (skip.has(route) || route.startsWith('/docs')) return;
    const l = { method: req.method, route, status_code: String(reply.statusCode) };
    duration.observe(l, reply.elapsedTime / 1000);
    count.inc(l);
  });
}
