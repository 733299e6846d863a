/** /readyz tells the truth: 503 naming the part that is down, 200 again once it is back. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startEmbeddedBroker } from '../adapters/edges/embedded-broker.ts';
import { silentLogger } from '../adapters/process/logger.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { startTestApp, waitFor } from './helpers.ts';

test('broker down → 503 with broker down; back → 200', async () => {
  const port = await freePort();
  let broker = await startEmbeddedBroker({ port, host: '127.0.0.1', log: silentLogger });
  const app = await startTestApp({ ROLES: 'recommender', MQTT_URL: `mqtt://127.0.0.1:${port}`, MQTT_PROTOCOL_VERSION: '4' });
  try {
    assert.is((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    await broker.stop();
    const down = await waitFor(
      async () => {
        const r = await app.http.inject({ method: 'GET', url: '/readyz' });
        return r.statusCode === 503 ? r : null;
      },
      10_000,
      '503',
    );
    assert.equal(down.json(), { status: 'not ready', checks: { database: 'up', 'event log': 'up', broker: 'down', started: 'up' } });
    assert.is((await app.http.inject({ method: 'GET', url: '/healthcheck' })).body, 'OK', 'still alive');
    broker = await startEmbeddedBroker({ port, host: '127.0.0.1', log: silentLogger });
    await waitFor(async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 15_000, 'ready again');
  } finally {
    await app.close();
    await broker.stop();
  }
});

test('starting: 503 until the inputs are consumed, so nothing published on a ready signal is lost', async () => {
  // the broker is not there yet: the control plane listens while the pipeline waits to connect
  const port = await freePort();
  let listening!: (url: string) => void;
  const url = new Promise<string>((ok) => (listening = ok));
  const starting = startTestApp(
    { ROLES: 'recommender', MQTT_URL: `mqtt://127.0.0.1:${port}`, MQTT_PROTOCOL_VERSION: '4' },
    { onListening: (u) => listening(u) },
  );
  let broker: Awaited<ReturnType<typeof startEmbeddedBroker>> | undefined;
  try {
    const base = await url;
    const early = await fetch(`${base}readyz`);
    assert.is(early.status, 503);
    assert.equal(await early.json(), { status: 'not ready', checks: { database: 'up', 'event log': 'up', broker: 'down', started: 'down' } });
    broker = await startEmbeddedBroker({ port, host: '127.0.0.1', log: silentLogger });
    const app = await starting;
    const ready = await app.http.inject({ method: 'GET', url: '/readyz' });
    assert.equal([ready.statusCode, ready.json()], [200, { status: 'ready', checks: { database: 'up', 'event log': 'up', broker: 'up', started: 'up' } }]);
    await app.close();
  } finally {
    await starting.then((a) => a.close()).catch(() => {});
    await broker?.stop();
  }
});

test.run();
