/** Event-time idle tracking shared by the session and detector hosts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IdleClock } from '../actors/kernel/idle-clock.ts';

/** Two passers-by walking together carry event time to `ts` (event time needs two customers to agree). */
const walk = (c: IdleClock, ts: number) => {
  c.advance('p', ts);
  return c.advance('q', ts);
};

test('customers idle for the timeout are due, least recently active first, at most once per tick step', () => {
  const c = new IdleClock(7200, 60);
  c.seen('a', 0);
  c.seen('b', 100);
  c.seen('c', 50);
  c.seen('a', 120); // active again: now the most recent
  assert.equal(walk(c, 7200), { ts: 7200, due: [] }, 'c is 7150 s quiet, not yet');
  assert.is(walk(c, 7250), undefined, 'within a tick step of event time');
  assert.equal(walk(c, 7300), { ts: 7300, due: ['b', 'c'] });
  c.forget('a');
  assert.equal(walk(c, 7400), { ts: 7400, due: [] }, 'b and c were told once; a forgotten (its actor ended)');
  c.seen('d', 7400);
  assert.equal(walk(c, 14_600), { ts: 14_600, due: ['d'] });
  assert.is(walk(c, 100), undefined, 'event time never goes back');
});

test('an event earlier than one already seen does not make a customer look idle', () => {
  const c = new IdleClock(100, 1);
  c.seen('x', 500);
  c.seen('x', 400);
  assert.equal(walk(c, 599), { ts: 599, due: [] });
  assert.equal(walk(c, 600), { ts: 600, due: ['x'] });
});

test("one customer far ahead moves nobody's clock; it takes a second customer to agree", () => {
  const c = new IdleClock(7200, 60);
  c.seen('a', 1000);
  c.seen('b', 1000);
  assert.equal(walk(c, 1000), { ts: 1000, due: [] });
  c.seen('h', 4_102_444_800); // 2100-01-01
  assert.is(c.advance('h', 4_102_444_800), undefined, 'alone in 2100: event time stays');
  assert.is(c.advance('h', 4_102_444_900), undefined);
  assert.equal(c.advance('a', 1100), { ts: 1100, due: [] }, 'the others carry event time on; nobody is idle');
  c.seen('a', 1100);
  assert.equal(
    c.advance('b', 8299),
    { ts: 8299, due: ['b'] },
    'b quiet for 7299 s by its own clock; a (7199 s) not yet; h is ahead of event time: passed over',
  );
  c.seen('b', 8299);
  assert.equal(c.advance('b', 8400), { ts: 8400, due: ['a'] });
  assert.is(c.advance('h', 4_102_444_999), undefined, 'h is never told while nobody else is near its time');
});

test.run();
