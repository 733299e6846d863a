/**
 * One complete OpenAPI document per HTTP server, valid by the OpenAPI schema: the control plane's at
 * /docs/json (tags by role, descriptions, seed examples, each root alias named once on its listed
 * operation and not listed again) and the gateway's internal API's on STREAM_API_PORT.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestApp } from './helpers.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
type Doc = {
  openapi: string;
  info: { title: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
};
/** An operation, as far as these tests read it (the validator checks the rest). */
type Operation = {
  tags: string[];
  summary?: string;
  description?: string;
  requestBody: { content: Record<string, { examples: Record<string, { value: Record<string, unknown> }> }> };
};
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => METHODS.includes(m))
      .map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, op })),
  );

async function valid(doc: Doc, what: string) {
  const r = await new Validator().validate(structuredClone(doc) as unknown as Parameters<Validator['validate']>[0]);
  assert.ok(r.valid, `${what}: ${JSON.stringify(r.errors)?.slice(0, 2000)}`);
}

/** Every operation tagged with a declared tag, and described; every tag described. */
function complete(doc: Doc, what: string) {
  assert.ok(doc.info.description, `${what}: info.description`);
  const tags = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  for (const [name, description] of tags) assert.ok(description, `${what}: tag ${name} described`);
  for (const { key, op } of operations(doc)) {
    assert.ok(op.tags?.length, `${what}: ${key} has a tag`);
    for (const t of op.tags) assert.ok(tags.has(t), `${what}: ${key}'s tag ${t} is declared`);
    assert.ok(op.summary || op.description, `${what}: ${key} is described`);
  }
}

test("the control plane's document: valid, tags by role, every alias named once and not listed, seed examples", async () => {
  const app = await startTestApp({ ROLES: 'recommender,detector,simulator,pump,gateway' });
  try {
    const r = await app.http.inject({ method: 'GET', url: '/docs/json' });
    assert.is(r.statusCode, 200);
    const doc: Doc = r.json();
    await valid(doc, 'control plane');
    complete(doc, 'control plane');
    const ops = operations(doc);
    const keys = ops.map((o) => o.key);
    const tagOf = (key: string) =>
      must(
        ops.find((o) => o.key === key),
        'ops.find((o) => o.key === key)',
      ).op.tags;
    for (const [key, tag] of [
      ['POST /recommender/mock_focus', 'recommender'],
      ['GET /detector/shoppers', 'detector'],
      ['POST /simulator/scenario', 'simulator'],
      ['GET /pump/state', 'pump'],
      ['GET /gateway/dashboard/config', 'dashboard'],
      ['GET /readyz', 'process'],
      ['POST /auth', 'process'],
    ] as const)
      assert.equal(tagOf(key), [tag], key);
    // aliases: the seeds' root paths are named on the listed operation, never listed themselves
    for (const alias of [
      'POST /mock_focus',
      'POST /mock_entry',
      'GET /sessions/{id}',
      'POST /produce_move',
      'POST /scenario',
      'GET /state',
      'POST /start',
      'GET /dashboard/config',
    ])
      assert.not.ok(keys.includes(alias), `${alias} is not listed again`);
    const description = (key: string) =>
      must(
        ops.find((o) => o.key === key),
        'ops.find((o) => o.key === key)',
      ).op.description as string;
    assert.match(description('POST /recommender/mock_focus'), 'Also at `POST /mock_focus`');
    assert.match(description('GET /recommender/sessions/{id}'), 'Also at `GET /sessions/:id`');
    assert.match(description('GET /pump/state'), 'Also at `GET /state`', 'the pump owns the bare /state');
    assert.not.match(description('GET /simulator/state') ?? '', 'Also at', "the simulator's /state is not at the root when the pump runs");
    assert.not.ok(
      keys.some((k) => /^\w+ \/(shoppers)/.test(k)),
      'the detector has no root routes',
    );
    const listed = new Set(keys);
    assert.is(listed.size, keys.length, 'no operation twice');
    // examples from the seeds
    const examples = (key: string) =>
      must(
        ops.find((o) => o.key === key),
        'ops.find((o) => o.key === key)',
      ).op.requestBody?.content?.['application/json']?.examples ?? {};
    assert.equal(Object.values(examples('POST /recommender/mock_focus')).map((e) => e.value)[0], { id: '100', ts: 1764000060, dep: 'Boys' });
    assert.ok(
      Object.values(examples('POST /recommender/mock_entry')).some((e) => e.value.event_type === 'entry event'),
      'the envelope form of seed 002',
    );
    assert.equal(Object.values(examples('POST /simulator/produce_move'))[0].value, { id: '997', ts: 192326400, x: 2, y: 3 });
    assert.match(must(doc.info.description, 'doc.info.description'), 'STREAM_API_PORT', "the gateway's API is pointed to");
    assert.is((await app.http.inject({ method: 'GET', url: '/docs' })).statusCode < 400, true);
  } finally {
    await app.close();
  }
});

test("the gateway's internal API documents itself on its own port (/docs, /docs/json), open even with ESS_API_TOKEN", async () => {
  const token = 'a-gateway-token-of-some-length';
  const app = await startTestApp({ ROLES: 'gateway', ESS_API_TOKEN: token });
  try {
    const base = `http://127.0.0.1:${(app.roles.get('gateway') as GatewayHandle).apiPort}`;
    const r = await fetch(`${base}/docs/json`);
    assert.is(r.status, 200);
    const doc: Doc = await r.json();
    await valid(doc, 'internal API');
    complete(doc, 'internal API');
    const keys = operations(doc)
      .map((o) => o.key)
      .sort();
    assert.equal(keys, ['DELETE /event-stream/{id}', 'GET /event-stream/', 'GET /event-stream/version/', 'GET /event-stream/{id}', 'POST /event-stream/']);
    const post = must(
      operations(doc).find((o) => o.key === 'POST /event-stream/'),
      'POST /event-stream/',
    ).op;
    assert.ok(
      Object.values(post.requestBody.content['application/json'].examples).some((e) => e.value.routing_key === 'abc'),
      "seed 004's example",
    );
    assert.is((await fetch(`${base}/docs`)).status < 400, true, 'the UI');
    assert.is((await fetch(`${base}/event-stream/`)).status, 401, 'the API itself still needs the token');
    assert.is((await fetch(`${base}/event-stream/`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  } finally {
    await app.close();
  }
});

test.run();
