/**
 * Prometheus conventions, scraped from /metrics: prom-client's default process and Node.js metrics
 * under their conventional names, every metric of storeflow's own under storeflow_, HTTP requests by
 * route and status (probes left out), and the pipeline's per-stage latency histograms.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestApp, waitFor, type TestApp } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';

const scrape = async (app: TestApp) => (await app.http.inject({ method: 'GET', url: '/metrics' })).body;
/** `name{labels} value` lines of one metric, labels parsed. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => {
      const labels = Object.fromEntries([...(/\{(.*)\}/.exec(l)?.[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { labels, value: Number(l.slice(l.lastIndexOf(' ') + 1)) };
    });
}

test('/metrics: conventional default metrics, storeflow_ for the rest, HTTP by route and status, pipeline stages', async () => {
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0' });
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    for (let i = 0; i < 3; i++) assert.is((await app.http.inject({ method: 'GET', url: '/healthcheck' })).statusCode, 200);
    assert.is((await app.http.inject({ method: 'POST', url: '/mock_entry', payload: { id: '1', ts: SMALL_STORE.ts } })).statusCode, 200);
    const focus = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: SMALL_STORE.ts + 60, dep: 'Men' } });
    assert.is(focus.json().predictions.length, 1, 'a prediction, so every stage ran');
    assert.is((await app.http.inject({ method: 'GET', url: '/sessions/1' })).statusCode, 200);
    assert.is((await app.http.inject({ method: 'GET', url: '/sessions/2' })).statusCode, 404);
    assert.is((await app.http.inject({ method: 'GET', url: '/no/such/path' })).statusCode, 404);
    await scrape(app);
    // the prediction's PUBACK comes back from the broker a moment later
    await waitFor(
      async () => samples(await scrape(app), 'storeflow_pipeline_stage_duration_seconds_count').some((s) => s.labels.stage === 'publish' && s.value > 0),
      10_000,
      'the publish stage',
    );
    const text = await scrape(app);

    // prom-client's defaults, named as stock Node.js dashboards query them
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_gc_duration_seconds',
      'nodejs_version_info',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    const own = families.filter((n) => !/^(process|nodejs)_/.test(n));
    assert.equal(
      own.filter((n) => !n.startsWith('storeflow_')),
      [],
      'every other metric is storeflow_…',
    );
    assert.equal(
      families.filter((n) => /^storeflow_(process|nodejs)_/.test(n)),
      [],
      'no prefixed defaults',
    );

    // HTTP: by method, route pattern and status code; probes and scrapes left out
    const requests = samples(text, 'storeflow_http_requests_total').map((s) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code} ${s.value}`);
    for (const line of ['POST /mock_entry 200 1', 'POST /mock_focus 200 1', 'GET /sessions/:id 200 1', 'GET /sessions/:id 404 1', 'GET unmatched 404 1'])
      assert.ok(requests.includes(line), `${line} in ${requests.join(', ')}`);
    assert.not.ok(
      requests.some((r) => / \/(healthcheck|health|readyz|metrics)( |$)/.test(r)),
      'no probes or scrapes',
    );
    const buckets = samples(text, 'storeflow_http_request_duration_seconds_bucket').filter((s) => s.labels.route === '/mock_focus' && s.labels.le === '+Inf');
    assert.equal(
      buckets.map((s) => [s.labels.method, s.labels.status_code, s.value]),
      [['POST', '200', 1]],
    );

    // the pipeline, stage by stage: the entry and the focus each one unit (the input and its outputs in one append)
    const stages = samples(text, 'storeflow_pipeline_stage_duration_seconds_count');
    assert.equal(
      stages
        .filter((s) => s.value > 0)
        .map((s) => [s.labels.stage, s.value])
        .sort(),
      [
        ['append_unit', 2],
        ['decide', 2],
        ['publish', 1],
      ],
    );
    assert.match(text, /^# TYPE storeflow_pipeline_stage_duration_seconds histogram$/m);
  } finally {
    await app.close();
  }
});

test("the gateway's internal API is measured too, by its own routes", async () => {
  const app = await startTestApp({ ROLES: 'gateway' });
  try {
    const { apiPort } = app.roles.get('gateway') as GatewayHandle;
    const r = await fetch(`http://127.0.0.1:${apiPort}/event-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: 'prediction' }),
    });
    assert.is(r.status, 201);
    const requests = samples(await scrape(app), 'storeflow_http_requests_total').map(
      (s) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code} ${s.value}`,
    );
    assert.ok(requests.includes('POST /event-stream/ 201 1'), requests.join(', '));
  } finally {
    await app.close();
  }
});

test.run();
