import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normalise, isoToSeconds, toSeconds, compile } from '../schemas/normalise.ts';
import { PredictionFlat, PredictionEnvelope, PumpCommand, Scenario, ScenarioDraft } from '../schemas/messages.ts';
import { toFlat } from '../schemas/events.ts';
import { renderSchemas, SCHEMA_DIR } from '../scripts/schemas.ts';

test('seed 002 flat examples', () => {
  assert.equal(normalise('{"id": "127", "ts": 192322800}', 'entry'), { ok: true, event: { kind: 'entry', id: '127', ts: 192322800 } });
  assert.equal(normalise('{"id": "127", "ts": 192322800, "dep": "Boys"}', 'focus'), {
    ok: true,
    event: { kind: 'focus', id: '127', ts: 192322800, dep: 'Boys' },
  });
  assert.equal(normalise('{"id": "4", "dep": "Boys", "ts": 192322800}', 'focus'), { ok: true, event: { kind: 'focus', id: '4', ts: 192322800, dep: 'Boys' } });
  assert.equal(normalise('{"id": "997", "ts": 192326400, "x": 2, "y": 3}', 'move'), {
    ok: true,
    event: { kind: 'move', id: '997', ts: 192326400, x: 2, y: 3 },
  });
  assert.equal(normalise('{"id": "997", "ts": 192326400}', 'exit'), { ok: true, event: { kind: 'exit', id: '997', ts: 192326400 } });
});

test('ids as numbers, ts as float or milliseconds, department aliases', () => {
  assert.equal(normalise({ id: 127, ts: 192322800.7 }, 'entry'), { ok: true, event: { kind: 'entry', id: '127', ts: 192322800 } });
  assert.equal(normalise({ id: '1', ts: 1700000000123 }, 'entry'), { ok: true, event: { kind: 'entry', id: '1', ts: 1700000000 } });
  for (const [given, canonical] of [
    ['Sports', 'Sport'],
    ["Boy's", 'Boys'],
    ['women', 'Women'],
    [' MEN ', 'Men'],
  ]) {
    const r = normalise({ id: '1', ts: 1, dep: given }, 'focus');
    assert.ok(r.ok && r.event.kind === 'focus' && r.event.dep === canonical, given);
  }
  assert.equal(normalise({ id: '1', ts: 1, dep: 'Men', x: 700.4, y: 700.6 }, 'focus'), {
    ok: true,
    event: { kind: 'focus', id: '1', ts: 1, dep: 'Men', x: 700, y: 701 },
  });
});

test('seed 003 and seed 002 envelope examples', () => {
  assert.equal(normalise({ event_type: 'customer entry', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 1 } }), {
    ok: true,
    event: { kind: 'entry', id: '1', ts: 1008581447 },
  });
  assert.equal(normalise({ event_type: 'customer focus', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 1, department_id: 1 } }), {
    ok: true,
    event: { kind: 'focus', id: '1', ts: 1008581447, dep: 'Men' },
  });
  assert.equal(normalise({ event_type: 'entry event', event_timestamp: '2021-03-18T08:29:02.160Z', payload: { customer_id: 3 } }, 'entry'), {
    ok: true,
    event: { kind: 'entry', id: '3', ts: 1616056142 },
  });
  assert.equal(normalise({ event_type: 'focus event', event_timestamp: '2021-03-18T08:29:02.160Z', payload: { customer_id: 8, category: 'Women' } }, 'focus'), {
    ok: true,
    event: { kind: 'focus', id: '8', ts: 1616056142, dep: 'Women' },
  });
  // department ids follow the original generator's order
  const deps = [1, 2, 3, 4, 5].map((d) => {
    const r = normalise({ event_type: 'focus event', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 8, department_id: d } });
    return r.ok && r.event.kind === 'focus' ? r.event.dep : null;
  });
  assert.equal(deps, ['Men', 'Sport', 'Boys', 'Girls', 'Women']);
  // an envelope names its own kind, so it works on any input topic
  assert.equal(normalise({ event_type: 'customer entry', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 1 } }, 'focus'), {
    ok: true,
    event: { kind: 'entry', id: '1', ts: 1616056142 },
  });
  // an offset is honoured
  assert.is(isoToSeconds('2021-03-18T10:29:02+02:00'), 1616056142);
  assert.is(toSeconds(1616056142000), 1616056142);
});

const INVALID: [string, unknown, 'entry' | 'focus' | 'move' | 'exit' | undefined, string][] = [
  ['not JSON', '{"id": "1", ', 'entry', 'invalid_json'],
  ['empty string', '', 'entry', 'invalid_json'],
  ['a JSON array', '[1,2]', 'entry', 'schema'],
  ['a JSON string', '"hello"', 'entry', 'schema'],
  ['null', 'null', 'entry', 'schema'],
  ['missing id', { ts: 1 }, 'entry', 'schema'],
  ['missing ts', { id: '1' }, 'entry', 'schema'],
  ['ts as a string', { id: '1', ts: 'yesterday' }, 'entry', 'schema'],
  ['negative ts', { id: '1', ts: -5 }, 'entry', 'schema'],
  ['id as an object', { id: { x: 1 }, ts: 1 }, 'entry', 'schema'],
  ['empty id', { id: '', ts: 1 }, 'entry', 'schema'],
  ['id with spaces and quotes', { id: "1'; drop table", ts: 1 }, 'entry', 'schema'],
  ['negative numeric id', { id: -3, ts: 1 }, 'entry', 'schema'],
  ['focus without dep', { id: '1', ts: 1 }, 'focus', 'schema'],
  ['focus with unknown department', { id: '1', ts: 1, dep: 'Garden' }, 'focus', 'unknown_department'],
  ['focus with numeric dep', { id: '1', ts: 1, dep: 3 }, 'focus', 'schema'],
  ['move without x', { id: '1', ts: 1, y: 3 }, 'move', 'schema'],
  ['move with string coordinates', { id: '1', ts: 1, x: '1', y: '2' }, 'move', 'schema'],
  [
    'envelope with unknown event_type',
    { event_type: 'customer teleport', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 1 } },
    undefined,
    'schema',
  ],
  ['envelope with bad timestamp', { event_type: 'customer entry', event_timestamp: 'the 18th of March', payload: { customer_id: 1 } }, undefined, 'schema'],
  ['envelope without payload', { event_type: 'customer entry', event_timestamp: '2021-03-18T08:29:02Z' }, undefined, 'schema'],
  [
    'envelope focus without department',
    { event_type: 'customer focus', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 1 } },
    undefined,
    'schema',
  ],
  [
    'envelope focus with department_id 9',
    { event_type: 'customer focus', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 1, department_id: 9 } },
    undefined,
    'schema',
  ],
  [
    'envelope focus with unknown category',
    { event_type: 'focus event', event_timestamp: '2021-03-18T08:29:02Z', payload: { customer_id: 1, category: 'Garden' } },
    undefined,
    'unknown_department',
  ],
  ['flat event with no topic to say what it is', { id: '1', ts: 1 }, undefined, 'unknown_kind'],
  ['oversized payload', JSON.stringify({ id: '1', ts: 1, pad: 'x'.repeat(1 << 20) }), 'entry', 'too_large'],
];

for (const [name, input, kind, code] of INVALID) {
  test(`invalid: ${name} → ${code}`, () => {
    const r = normalise(input, kind);
    assert.not.ok(r.ok);
    if (!r.ok) {
      assert.is(r.code, code);
      assert.ok(r.reason.length > 5, 'a reason is given');
    }
  });
}

test("output and API schemas accept the seeds' examples and refuse wrong types", () => {
  const flat = compile(PredictionFlat);
  const good = {
    customer: { id: '11' },
    coupon: {
      id: 22,
      type: 'buy_more',
      department: 'Men',
      discount: 14.0,
      how_many: 3,
      start_date: '2010-01-01',
      end_date: '2010-01-09',
      products: [{ id: 33, name: 'N', category: 'Denim cut-offs', sizes: 'S-XL', vendor: 'TinyCottons', description: 'd', buy_price: 7.12, department: 'Men' }],
    },
    ts: 192322800,
  };
  assert.ok(flat.check(good), flat.error(good));
  assert.not.ok(flat.check({ ...good, coupon: { ...good.coupon, id: '22' } }), 'coupon id must be an integer');
  assert.not.ok(flat.check({ ...good, ts: 1.5 }));
  const env = compile(PredictionEnvelope);
  assert.ok(
    env.check({ event_type: 'prediction result', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 1, coupon_id: 1, prediction: 0.9 } }),
  );
  assert.not.ok(env.check({ event_type: 'prediction result', event_timestamp: 'x', payload: { customer_id: 1, coupon_id: 1, prediction: 1.9 } }));
  const cmd = compile(PumpCommand);
  for (const c of ['START', 'stop', 'Start', { command: 'STOP' }]) assert.ok(cmd.check(c), JSON.stringify(c));
  for (const c of ['GO', '', { command: 'pause' }, 5]) assert.not.ok(cmd.check(c), JSON.stringify(c));
  const sc = compile(Scenario);
  assert.ok(sc.check({ customer: { customer_id: '1' }, path: [{ type: 'ENTER', location: { x: 935, y: 50 }, timestamp: 1700000000 }] }));
  assert.not.ok(sc.check({ customer: { customer_id: '1' }, path: [] }));
  const draft = compile(ScenarioDraft);
  assert.ok(draft.check({ customer: { customer_id: '1' }, path: [{ type: 'focus', location: { x: 700, y: 700 } }] }));
  assert.not.ok(draft.check({ customer: { customer_id: '1' }, path: [{ type: 'jump', location: { x: 700, y: 700 } }] }));
});

test('toFlat renders the seed payloads', () => {
  assert.equal(toFlat({ kind: 'focus', id: '1', ts: 5, dep: 'Men' }), { id: '1', ts: 5, dep: 'Men' });
  assert.equal(toFlat({ kind: 'move', id: '1', ts: 5, x: 1, y: 2 }), { id: '1', ts: 5, x: 1, y: 2 });
  assert.equal(toFlat({ kind: 'browsing', id: '1', ts: 5, x: 1, y: 2 }), { id: '1', ts: 5, x: 1, y: 2 });
});

test('schemas/json is generated from the typebox schemas (npm run schemas)', () => {
  for (const [file, text] of Object.entries(renderSchemas())) assert.fixture(readFileSync(join(SCHEMA_DIR, file), 'utf8'), text, file);
});

test.run();
