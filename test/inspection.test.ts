/** Stately inspection: machines as JSON for the editor, and XSTATE_INSPECT streaming a live session. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { createMachine, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { renderMachines, MACHINE_JSON_DIR, MACHINES } from '../scripts/machines.ts';
import { machineConfig } from '../scripts/machine-config.ts';
import { startTestApp, waitFor } from './helpers.ts';
import { seedSmallStore, SMALL_STORE } from './fixtures/small-store.ts';
import type { RecommenderHandle } from '../adapters/recommender/index.ts';

test('machines/json is what `npm run machines` writes (every machine, importable as it is written)', () => {
  const files = renderMachines();
  assert.equal(
    Object.keys(files).sort(),
    Object.keys(MACHINES)
      .map((n) => `${n}.json`)
      .sort(),
  );
  const states = (def: { states?: Record<string, object> }, prefix = ''): string[] =>
    Object.entries(def.states ?? {}).flatMap(([k, v]) => [prefix + k, ...states(v, `${prefix}${k}.`)]);
  const expected: Record<string, string[]> = {
    'customer.json': ['entering', 'choosing', 'walking', 'dwelling', 'browsing', 'leaving', 'left'],
    'focus-detector.json': ['arrived', 'dwelling', 'walking', 'left', 'forgotten'],
    'pump.json': ['stopped', 'running', 'running.publishing', 'running.waiting'],
    'session.json': ['opening', 'loadingContext', 'ready', 'scoring', 'ended'],
  };
  for (const [file, text] of Object.entries(files)) {
    assert.fixture(readFileSync(join(MACHINE_JSON_DIR, file), 'utf8'), text, file);
    assert.equal(states(JSON.parse(text)), expected[file], `${file}: every state`);
  }
});

/** A row of transitionsOf(), as the assertions below read it. */
interface Row {
  from?: string;
  event?: string;
  guard?: unknown;
  target: string[];
  actions: unknown[];
  invoke?: string[];
}

/** Every transition of a machine as data: from, event (or `always`), guard, targets, reenter, actions; plus each state's entry, exit and invoked actors. */
function transitionsOf(machine: AnyStateMachine): unknown[] {
  const name = (x: unknown): unknown => {
    if (typeof x === 'string') return x;
    const named = x as { type?: unknown; params?: unknown };
    if (typeof x === 'function') return named.type ?? 'INLINE FUNCTION'; // xstate's own (xstate.raise for `after`) have a type
    return typeof named.params === 'function' || named.params === undefined ? named.type : { type: named.type, params: named.params };
  };
  const out: unknown[] = [];
  const walk = (node: AnyStateNode) => {
    out.push({
      state: node.id,
      type: node.type,
      entry: node.entry.map(name),
      exit: node.exit.map(name),
      invoke: node.invoke.map((i) => `${i.id}:${i.src}`),
    });
    const defs: [string, AnyTransitionDefinition[]][] = [...node.transitions.entries(), ['always', node.always ?? []]];
    for (const [event, list] of defs)
      for (const t of list) {
        out.push({
          from: node.id,
          event,
          guard: t.guard === undefined ? null : name(t.guard),
          target: (t.target ?? []).map((s) => s.id),
          reenter: t.reenter,
          actions: t.actions.map(name),
        });
      }
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  return out;
}

test('each exported config loads back into createMachine with the same states and transitions as the source (nothing lost)', () => {
  for (const [machineName, source] of Object.entries(MACHINES)) {
    const json = JSON.parse(readFileSync(join(MACHINE_JSON_DIR, `${machineName}.json`), 'utf8'));
    const loaded = createMachine(json);
    const expected = transitionsOf(source);
    assert.equal(transitionsOf(loaded), expected, machineName);
    assert.not.ok(JSON.stringify(expected).includes('INLINE FUNCTION'), `${machineName}: a guard or action without a name`);
  }
  // what the old toJSON() export lost: `always` transitions and the guards that tell branches apart
  const session = transitionsOf(MACHINES.session) as Row[];
  assert.equal(
    session.filter((t) => t.from === 'session.ready' && t.event === 'always').map((t) => [t.guard, t.target]),
    [
      ['pendingForUnknownCustomer', []],
      ['hasPending', ['session.scoring']],
      ['exitRequested', ['session.ended']],
    ],
  );
  assert.equal(
    session.filter((t) => t.event?.startsWith('xstate.done.actor.') && t.from === 'session.loadingContext').map((t) => t.guard),
    ['customerNotFound', null],
  );
  const customer = transitionsOf(MACHINES.customer) as Row[];
  assert.equal(
    customer.filter((t) => t.from === 'customer.choosing' && t.event === 'always').map((t) => t.target[0]),
    ['customer.walking', 'customer.browsing', 'customer.leaving'],
  );
  assert.ok(
    customer.some((t) => t.event === 'xstate.after.legTime.customer.leaving' && t.actions.includes('publishExit')),
    'delays by name, with their actions',
  );
  assert.ok(
    (transitionsOf(MACHINES.pump) as Row[]).some((t) => t.invoke?.some((i) => i.endsWith(':publishBatch'))),
    'invoked actors by name',
  );
});

test('an inline guard or action cannot be exported: it is refused with its path', () => {
  const inline = createMachine({ id: 'm', initial: 'a', states: { a: { on: { go: { guard: () => true, target: 'b' } } }, b: {} } });
  assert.throws(() => machineConfig(inline), /m\.states\.a\.on\.go\.guard: an inline function/);
  const mapped = createMachine({ id: 'm', initial: 'a', context: () => ({}), states: { a: { entry: { type: 'named', params: () => ({ x: 1 }) } } } });
  assert.equal(machineConfig(mapped), { id: 'm', initial: 'a', states: { a: { entry: { type: 'named' } } } });
});

test("XSTATE_INSPECT=ws://… sends a session's actor, event and snapshot inspection events", async () => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((ok) => server.once('listening', ok));
  const port = (server.address() as { port: number }).port;
  const received: { type: string; event?: { type?: string } }[] = [];
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
    assert.ok(
      received.some((e) => e.type === '@xstate.event' && e.event?.type === 'focus'),
      'the focus event is inspected',
    );
  } finally {
    await app.close();
    for (const client of server.clients) client.terminate();
    await new Promise((ok) => server.close(ok));
  }
});

test.run();
