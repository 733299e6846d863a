/** Event-time idle tracking shared by the session and detector hosts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IdleClock } from '../actors/idle-clock.ts';

test('customers idle for the timeout are due, least recently active first, at most once per tick step', () => {
  const c = new IdleClock(7200, 60);
  c.seen('a', 0);
  c.seen('b', 100);
  c.seen('c', 50);
  c.seen('a', 120); // active again: now the most recent
  assert.equal(c.advance(7200), { ts: 7200, due: [] }, 'c is 7150 s quiet, not yet');
  assert.is(c.advance(7250), undefined, 'within a tick step of event time');
  assert.equal(c.advance(7300), { ts: 7300, due: ['b', 'c'] });
  c.forget('a');
  assert.equal(c.advance(7400), { ts: 7400, due: [] }, 'b and c were told once; a forgotten (its actor ended)');
  c.seen('d', 7400);
  assert.equal(c.advance(14_600), { ts: 14_600, due: ['d'] });
  assert.is(c.advance(100), undefined, 'event time never goes back');
});

test('an event earlier than one already seen does not make a customer look idle', () => {
  const c = new IdleClock(100, 1);
  c.seen('x', 500);
  c.seen('x', 400);
  assert.equal(c.advance(599), { ts: 599, due: [] });
  assert.equal(c.advance(600), { ts: 600, due: ['x'] });
});

test.run();
