/** Pure logic of the gateway: routing-key grammar and matching, start parameters, message shape, the replay seam. */
import { suite } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { customerOf, eventAddresses, matchSegments, onlyType, parseRoutingKey, routingKeyMatcher } from '../actors/gateway/routing-key.ts';
import { parseDatetime, parseStreamStart, ReplaySeam, streamMessage } from '../actors/gateway/stream-replay.ts';

const keys = suite('routing keys');

keys('grammar: valid and invalid keys', () => {
  for (const k of ['prediction', 'customer.127', 'customer.*', '#', '*', 'customer.#', 'a.*.c', 'x-y_z:1', '#.focus']) assert.ok(parseRoutingKey(k).ok, k);
  const bad: [unknown, RegExp][] = [
    ['', /empty/],
    ['a..b', /empty segment/],
    ['.a', /empty segment/],
    ['cust*', /invalid segment/],
    ['a.b#', /invalid segment/],
    ['a b', /invalid segment/],
    ['x'.repeat(256), /longer than 255/],
    [Array(17).fill('a').join('.'), /more than 16/],
    [42, /string/],
    [null, /string/],
  ];
  for (const [k, why] of bad) {
    const r = parseRoutingKey(k);
    assert.not.ok(r.ok, String(k));
    if (!r.ok) assert.match(r.reason, why);
  }
});

keys('matching segments: * is one segment, # zero or more', () => {
  const m = (p: string, a: string) => matchSegments(p.split('.'), a.split('.'));
  assert.equal(
    [
      m('a.*', 'a.b'),
      m('a.*', 'a'),
      m('a.*', 'a.b.c'),
      m('a.#', 'a'),
      m('a.#', 'a.b.c'),
      m('#.c', 'a.b.c'),
      m('#.c', 'c'),
      m('a.#.c', 'a.c'),
      m('a.#.c', 'a.x.y.c'),
      m('a.#.c', 'a.x.y'),
      m('#', 'a.b'),
      m('*', 'a.b'),
    ],
    [true, false, false, true, true, true, true, true, true, false, true, false],
  );
});

keys('an event is selected by kind, customer, kind.customer, customer.id.kind, and its AMQP key', () => {
  const focus = { type: 'focus', customer: '127' };
  const amqp = { type: 'orders', routingKey: 'orders.eu.new' };
  assert.equal(
    eventAddresses(focus).map((a) => a.join('.')),
    ['focus', 'customer.127', 'focus.127', 'customer.127.focus'],
  );
  const sel = (key: string) => [focus, amqp, { type: 'prediction', customer: '5' }, { type: 'rejected' }].filter(routingKeyMatcher(key)).map((e) => e.type);
  assert.equal(sel('focus'), ['focus']);
  assert.equal(sel('prediction'), ['prediction']);
  assert.equal(sel('customer.127'), ['focus']);
  assert.equal(sel('customer.*'), ['focus', 'prediction']);
  assert.equal(sel('prediction.*'), ['prediction']);
  assert.equal(sel('customer.*.focus'), ['focus']);
  assert.equal(sel('orders.#'), ['orders']);
  assert.equal(sel('orders.*.new'), ['orders']);
  assert.equal(sel('#'), ['focus', 'orders', 'prediction', 'rejected']);
  assert.equal(sel('*'), ['focus', 'orders', 'prediction', 'rejected']);
  assert.equal(sel('customer.128'), []);
  assert.throws(() => routingKeyMatcher('a..b'), /empty segment/);
});

keys('the customer of an event; the single type a key can select', () => {
  assert.is(customerOf('customer-127', { id: '127' }), '127');
  assert.is(customerOf('predictions', { customer_id: '9' }), '9');
  assert.is(customerOf('pump', { x: 1 }), undefined);
  assert.is(customerOf('pump', null), undefined);
  assert.equal(
    [onlyType('prediction'), onlyType('#'), onlyType('*'), onlyType('customer.1'), onlyType('a..b')],
    ['prediction', undefined, undefined, undefined, undefined],
  );
});

const start = suite('stream start parameters');
const q = (s: string) => new URLSearchParams(s);

start('none = live; ordinal (0 works); timestamp; datetime with offset', () => {
  assert.equal(parseStreamStart(q('')), { ok: true, start: { from: 'live' } });
  assert.equal(parseStreamStart(q('stream_from_ordinal=0')), { ok: true, start: { from: 'ordinal', position: 0 } });
  assert.equal(parseStreamStart(q('stream_from_ordinal=42')), { ok: true, start: { from: 'ordinal', position: 42 } });
  assert.equal(parseStreamStart(q('stream_from_timestamp=1700000000123')), { ok: true, start: { from: 'time', ms: 1700000000123 } });
  const utc = Date.UTC(2024, 4, 1, 8, 0, 0);
  assert.equal(parseStreamStart(q('stream_from_datetime=2024-05-01T10:00:00%2B02:00')), { ok: true, start: { from: 'time', ms: utc } });
  // an unencoded + turns into a space in a query string: still +02:00
  assert.equal(parseStreamStart(q('stream_from_datetime=2024-05-01T10:00:00+02:00')), { ok: true, start: { from: 'time', ms: utc } });
  assert.equal(parseStreamStart(q('stream_from_datetime=2024-05-01T03:30:00-04:30')), { ok: true, start: { from: 'time', ms: utc } });
  assert.equal(parseStreamStart(q('stream_from_datetime=2024-05-01T08:00:00Z')), { ok: true, start: { from: 'time', ms: utc } });
  assert.equal(parseStreamStart(q('stream_from_datetime=2024-05-01T08:00:00')), { ok: true, start: { from: 'time', ms: utc } });
  assert.is(parseDatetime('2024-05-01T08:00:00.250Z'), utc + 250);
});

start('bad parameters are refused with a reason', () => {
  for (const s of [
    'stream_from_ordinal=-1',
    'stream_from_ordinal=abc',
    'stream_from_ordinal=1.5',
    'stream_from_ordinal=',
    'stream_from_timestamp=soon',
    'stream_from_datetime=yesterday',
    'stream_from_datetime=2024-02-31T00:00:00Z',
    'stream_from_datetime=2024-13-01T00:00:00Z',
    'stream_from_datetime=2024-05-01T25:00:00Z',
    'stream_from_ordinal=1&stream_from_timestamp=2',
    'stream_from_ordinal=1&stream_from_ordinal=2',
  ]) {
    const r = parseStreamStart(q(s));
    assert.not.ok(r.ok, s);
  }
  const both = parseStreamStart(q('stream_from_ordinal=1&stream_from_datetime=2024-05-01T08:00:00Z'));
  assert.ok(!both.ok && /not stream_from_ordinal and stream_from_datetime/.test(both.reason));
});

const message = suite('message shape');

message('the seed names, ess fields, then the log record; parses back to the event', () => {
  const text = streamMessage({
    position: 7,
    recordedAt: 1700000000123,
    type: 'focus',
    streamId: 'customer-1',
    version: 3,
    messageId: 'm1',
    dataJson: '{"id":"1","dept":"Men"}',
    metadataJson: '{"source":"mqtt"}',
  });
  assert.equal(JSON.parse(text), {
    ess_ordinal: 7,
    ess_timestamp: 1700000000123,
    message_type: 'focus',
    message_body: { id: '1', dept: 'Men' },
    stream_id: 'customer-1',
    version: 3,
    message_id: 'm1',
    metadata: { source: 'mqtt' },
  });
  const noId = JSON.parse(
    streamMessage({ position: 1, recordedAt: 1, type: 'we"ird', streamId: 's', version: 1, messageId: null, dataJson: 'null', metadataJson: '{}' }),
  );
  assert.equal(noId, { ess_ordinal: 1, ess_timestamp: 1, message_type: 'we"ird', message_body: null, stream_id: 's', version: 1, metadata: {} });
});

const seam = suite('replay seam');
const ev = (...ps: number[]) => ps.map((position) => ({ position }));
const pos = (es: { position: number }[]) => es.map((e) => e.position);

seam('live client: every new event once, in order', () => {
  const s = new ReplaySeam(10, { live: true });
  assert.equal(pos(s.offer(ev(1, 2))), [1, 2]);
  assert.equal(pos(s.offer(ev(2, 3))), [3]);
});

seam('held live events overlapping the replay are released without duplicates', () => {
  const s = new ReplaySeam(10, { live: false });
  assert.equal(s.offer(ev(5, 6)), []); // arrive while replaying
  for (const p of [3, 4, 5]) assert.ok(s.replayed(p)); // the database already had 5
  assert.not.ok(s.replayed(5));
  assert.equal(pos(must(s.caughtUp(), 'the caught-up events')), [6]);
  assert.ok(s.live);
  assert.equal(pos(s.offer(ev(6, 7))), [7]);
});

seam('too many held events: dropped, the replay goes on from the database', () => {
  const s = new ReplaySeam(3, { live: false });
  s.offer(ev(10, 11, 12, 13));
  assert.ok(s.replayed(9));
  assert.is(s.caughtUp(), undefined);
  assert.not.ok(s.live);
  for (const p of [10, 11, 12, 13]) assert.ok(s.replayed(p));
  s.offer(ev(14));
  assert.equal(pos(must(s.caughtUp(), 'the caught-up events')), [14]);
});

keys.run();
start.run();
message.run();
seam.run();
