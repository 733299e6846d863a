/**
 * The README's examples return what the README says, on the default data and settings (AUTO_SEED's
 * generated store, seed 42; PREDICTION_THRESHOLD 0.2): its curl commands are read from README.md and
 * sent as they are written.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestApp } from './helpers.ts';

const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');

/** `curl -X POST localhost:8000<path> … -d '<body>'` lines of the README, in order. */
function curls(path: RegExp): { url: string; body: unknown }[] {
  return [...README.matchAll(/^curl -X POST localhost:8000(\/\S+) .*-d '(\{.*\})'$/gm)]
    .filter((m) => path.test(m[1]))
    .map((m) => ({ url: m[1], body: JSON.parse(m[2]) }));
}

test('the /mock_entry and /mock_focus example yields the coupon the README shows, with the default data', async () => {
  const examples = curls(/^\/mock_(entry|focus)$/);
  assert.equal(
    examples.map((e) => e.url),
    ['/mock_entry', '/mock_focus'],
    'the example: an entry, then a focus',
  );
  const shown = /^# → (\{"predictions": \[\{.*)$/m.exec(README);
  assert.ok(shown, 'the README shows the answer (a line "# → {"predictions": …")');
  const coupon = /"coupon": \{"id": (\d+), "type": "(\w+)", "department": "(\w+)", "discount": (\d+)/.exec(must(shown, 'shown')[1]);
  assert.ok(coupon, 'the answer names the coupon');
  const app = await startTestApp({ ROLES: 'recommender', AUTO_SEED: 'true' });
  try {
    const entry = await app.http.inject({ method: 'POST', url: examples[0].url, payload: examples[0].body as object });
    assert.is(entry.statusCode, 200);
    const focus = await app.http.inject({ method: 'POST', url: examples[1].url, payload: examples[1].body as object });
    assert.is(focus.statusCode, 200);
    const answer = focus.json();
    assert.is(answer.predictions.length, 1, `a coupon, not ${focus.body}`);
    const p = answer.predictions[0];
    assert.equal([String(p.coupon.id), p.coupon.type, p.coupon.department, String(p.coupon.discount)], must(coupon, 'coupon').slice(1, 5));
    assert.is(p.customer.id, (examples[1].body as { id: string }).id);
  } finally {
    await app.close();
  }
});

test.run();
