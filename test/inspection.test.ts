/** Stately inspection: machines as JSON for the editor, and XSTATE_INSPECT streaming a live session. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { renderMachines, MACHINE_JSON_DIR, MACHINES } from '../scripts/machines.ts';
import { startTestApp, waitFor } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';

test('machines/json is what `npm run machines` writes (every machine, importable as it is written)', () => {
  const files = renderMachines();
  assert.equal(Object.keys(files).sort(), Object.keys(MACHINES).map((n) => `${n}.json`).sort());
  const states = (def: { states?: Record<string, any> }, prefix = ''): string[] =>
    Object.entries(def.states ?? {}).flatMap(([k, v]) => [prefix + k, ...states(v, `${prefix}${k}.`)]);
  const expected: Record<string, string[]> = {
    'customer.json': ['entering', 'choosing', 'walking', 'dwelling', 'browsing', 'leaving', 'left'],
    'focus-detector.json': ['arrived', 'dwelling', 'walking', 'left', 'forgotten'],
    'pump.json': ['stopped', 'running', 'running.publishing', 'running.waiting'],
    'session.json': ['loadingContext', 'ready', 'scoring', 'ended'],
  };
  for (const [file, text] of Object.entries(files)) {
    assert.fixture(readFileSync(join(MACHINE_JSON_DIR, file), 'utf8'), text, file);
    assert.equal(states(JSON.parse(text)), expected[file], `${file}: every state`);
  }
});

test('XSTATE_INSPECT=ws://… sends a session\'s actor, event and snapshot inspection events', async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((ok) => server.once('listening', ok));
  const port = (server.address() as { port: number }).port;
  const received: any[] = [];
  server.on('connection', (socket) => socket.on('message', (data) => received.push(JSON.parse(data.toString()))));
  const app = await startTestApp({ ROLES: 'recommender', PREDICTION_THRESHOLD: '0', XSTATE_INSPECT: `ws://127.0.0.1:${port}` });
  try {
    await seedSmallStore(app.database.db);
    await (app.roles.get('recommender') as RecommenderHandle).reload();
    const r = await app.http.inject({ method: 'POST', url: '/mock_focus', payload: { id: '1', ts: SMALL_STORE.ts, dep: 'Men' } });
    assert.is(r.json().predictions.length, 1);
    await waitFor(() => received.some((e) => e.type === '@xstate.snapshot' && JSON.stringify(e).includes('"offered":[')), 10_000, 'a session snapshot');
    const types = new Set(received.map((e) => e.type));
    for (const t of ['@xstate.actor', '@xstate.event', '@xstate.snapshot']) assert.ok(types.has(t), `${t} received`);
    assert.ok(received.some((e) => e.type === '@xstate.event' && e.event?.type === 'focus'), 'the focus event is inspected');
  } finally {
    await app.close();
    for (const client of server.clients) client.terminate();
    await new Promise((ok) => server.close(ok));
  }
});

test.run();
