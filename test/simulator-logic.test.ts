/** The simulator's logic in virtual time: machine, population, timeline, scenarios (no I/O). */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import type { LoggedEvent } from '../actors/kernel/event-log.ts';
import * as assert from 'uvu/assert';
import { simulateDay, CustomerSimulation, defaultCustomers } from '../adapters/simulator/simulation.ts';
import { Timeline, payloadOf, type TimelineEvent } from '../actors/simulator/timeline.ts';
import { HeapClock } from '../actors/kernel/sim-clock.ts';
import { expandDraft, expandScenario } from '../actors/simulator/scenario.ts';
import { departmentAt, insidePlan, STORE_PLAN } from '../actors/data/store-plan.ts';
import { LINGER_RADIUS } from '../actors/simulator/shopper.ts';
import { DetectorProcessor } from '../adapters/detector/processor.ts';

const FROM = Date.parse('2010-03-01T09:00:00Z');
const day = simulateDay({ seed: 7, from: FROM, hours: 10, averageInStore: 6 });

function visits(events: TimelineEvent[]): TimelineEvent[][] {
  // a customer can come back later: split each customer's events into visits at their entries
  const open = new Map<string, TimelineEvent[]>();
  const out: TimelineEvent[][] = [];
  for (const e of events) {
    if (e.kind === 'entry') {
      const v = [e];
      open.set(e.id, v);
      out.push(v);
      continue;
    }
    const v = open.get(e.id);
    assert.ok(v, `event ${e.kind} of ${e.id} at ${e.at} before any entry`);
    v?.push(e);
    if (e.kind === 'exit') open.delete(e.id);
  }
  assert.is(open.size, 0, 'every visit ends with an exit');
  return out;
}

test('the same seed replays the same day; another seed does not', () => {
  const again = simulateDay({ seed: 7, from: FROM, hours: 10, averageInStore: 6 });
  assert.ok(day.events.length > 1000, `a day has traffic (${day.events.length} events)`);
  assert.equal(again.events.map(payloadOf), day.events.map(payloadOf));
  const other = simulateDay({ seed: 8, from: FROM, hours: 10, averageInStore: 6 });
  assert.not.equal(other.events.slice(0, 50).map(payloadOf), day.events.slice(0, 50).map(payloadOf));
});

test('events come in time order, moves inside the plan, entry first and exit last of every visit', () => {
  for (let i = 1; i < day.events.length; i++) assert.ok(day.events[i].at >= day.events[i - 1].at, 'time order');
  for (const e of day.events)
    if (e.kind === 'move') assert.ok(insidePlan(e) && Number.isInteger(e.x) && Number.isInteger(e.y), `move inside the plan: ${e.x},${e.y}`);
  const vs = visits(day.events);
  assert.ok(vs.length > 50, `${vs.length} visits`);
  for (const v of vs) {
    assert.is(v[0].kind, 'entry');
    assert.is(must(v.at(-1), 'v.at(-1)').kind, 'exit');
    assert.ok(
      v.slice(1, -1).every((e) => e.kind === 'move'),
      'only moves in between',
    );
    assert.ok(v.length >= 5, 'a visit has moves');
  }
  const ids = new Set(day.events.map((e) => e.id));
  for (const id of ids) assert.ok(Number(id) >= 1 && Number(id) <= 1000, 'default customers are 1..1000');
  assert.is(day.events[0].at >= FROM, true);
});

test('shoppers dwell in departments (≥ 3 moves in a row) and wander in the aisles (≥ 6 moves outside)', () => {
  let dwells = 0,
    wanders = 0;
  const deps = new Set<string>();
  for (const v of visits(day.events)) {
    let dep: string | undefined,
      run = 0,
      out = 0,
      dwelled = false;
    for (const e of v.filter((x) => x.kind === 'move')) {
      const d = departmentAt(e);
      if (d) {
        out = 0;
        run = d === dep ? run + 1 : 1;
        dep = d;
        if (run === 3) {
          dwells++;
          deps.add(d);
          dwelled = true;
        }
      } else {
        dep = undefined;
        run = 0;
        out++;
        if (out === 6) wanders++;
      }
    }
    assert.ok(dwelled, 'every visit has at least one focus-sized dwell');
  }
  assert.equal([...deps].sort(), Object.keys(STORE_PLAN.departments).sort());
  assert.ok(wanders > 20, `${wanders} browsing walks`);
  assert.ok(dwells > 100, `${dwells} dwells`);
});

test('paths spread over the aisles; only lingering raises a browsing (BROWSING_RADIUS), walking between departments does not', () => {
  // aisle moves cover the floor (25-unit cells), not one file down the ring by the departments
  const aisle = day.events.filter((e) => e.kind === 'move' && !departmentAt(e));
  const cells = new Set(aisle.map((e) => `${Math.floor(e.x / 25)},${Math.floor(e.y / 25)}`));
  assert.ok(cells.size > 800, `${cells.size} cells of the floor visited`);
  const onRing = aisle.filter((e) => Math.abs(e.y - 430) < 3 || Math.abs(e.x - 1330) < 3 || Math.abs(e.y - 930) < 3 || Math.abs(e.x - 430) < 3);
  assert.ok(onRing.length < aisle.length * 0.1, `${onRing.length} of ${aisle.length} aisle moves on the old ring`);
  // a lingering shopper's moves fit the detector's default radius
  assert.ok(2 * LINGER_RADIUS <= 150);
  const browsingPerVisit = (browsingRadius: number) => {
    const d = new DetectorProcessor({
      settings: { focusMinMoves: 3, browsingMinMoves: 6, browsingRadius, idleTimeoutS: 7200 },
      topics: { focus: 'f', browsing: 'b' },
    });
    let n = 0,
      browsing = 0;
    for (const e of day.events) {
      const ts = Math.floor(e.at / 1000);
      const event = e.kind === 'move' ? { kind: 'move' as const, id: e.id, ts, x: e.x, y: e.y } : { kind: e.kind as 'entry' | 'exit', id: e.id, ts };
      browsing += d.handle({ logged: { messageId: `m${++n}`, position: n } as LoggedEvent, event }).filter((o) => o.type === 'browsing').length;
    }
    d.stop();
    return browsing / visits(day.events).length;
  };
  // lingers are planned before ~10 % of department stops and ~5 % of exits: ~0.25 a visit; without the radius every walk counted
  const withRadius = browsingPerVisit(150),
    without = browsingPerVisit(0);
  assert.ok(withRadius > 0.1 && withRadius < 0.45, `${withRadius.toFixed(2)} browsing a visit`);
  assert.ok(without > 2, `${without.toFixed(2)} browsing a visit without the radius`);
});

test('occupancy over a simulated day stays near CUSTOMERS_AVERAGE_IN_STORE', () => {
  for (const average of [6, 40]) {
    const r = average === 6 ? day : simulateDay({ seed: 3, from: FROM, hours: 6, averageInStore: average });
    // time-averaged number inside, after the first hour (the store opens empty)
    const from = FROM + 3_600_000,
      to = FROM + (average === 6 ? 10 : 6) * 3_600_000;
    let inside = 0,
      area = 0,
      last = FROM;
    for (const e of r.events) {
      const a = Math.min(to, Math.max(from, last)),
        b = Math.min(to, Math.max(from, e.at));
      area += inside * (b - a);
      last = e.at;
      if (e.kind === 'entry') inside++;
      if (e.kind === 'exit') inside--;
    }
    const mean = area / (to - from);
    assert.ok(Math.abs(mean - average) < average * 0.25, `average ${average}: measured ${mean.toFixed(2)}`);
  }
});

test('never the same customer twice at once; with few customers the rest are turned away', () => {
  const customers = defaultCustomers(1, 3);
  const r = simulateDay({ seed: 1, customers, from: FROM, hours: 3, averageInStore: 10 });
  const inside = new Set<string>();
  for (const e of r.events) {
    if (e.kind === 'entry') {
      assert.not.ok(inside.has(e.id), `${e.id} entered twice`);
      inside.add(e.id);
    }
    if (e.kind === 'exit') inside.delete(e.id);
    assert.ok(inside.size <= 3);
  }
  assert.ok(r.stats.turnedAway > 0);
  assert.equal(new Set(r.events.map((e) => e.id)), new Set(['1', '2', '3']));
});

test('heap clock: timers fire in (time, creation) order with now() at their due time; cancel and shift', () => {
  const c = new HeapClock(1000);
  const seen: string[] = [];
  c.setTimeout(() => seen.push(`b@${c.now()}`), 50);
  c.setTimeout(() => {
    seen.push(`a@${c.now()}`);
    c.setTimeout(() => seen.push(`c@${c.now()}`), 0);
  }, 10);
  c.setTimeout(() => seen.push(`b2@${c.now()}`), 50);
  const x = c.setTimeout(() => seen.push('never'), 20);
  c.clearTimeout(x);
  assert.is(c.pending, 3);
  c.advanceTo(1040);
  assert.equal(seen, ['a@1010', 'c@1010']);
  assert.is(c.now(), 1040);
  c.shift(1000);
  assert.is(c.nextAt(), 2050);
  c.advanceTo(5000);
  assert.equal(seen, ['a@1010', 'c@1010', 'b@2050', 'b2@2050']);
  assert.is(c.pending, 0);
});

const ev = (kind: TimelineEvent['kind'], at: number, id = '1'): Omit<TimelineEvent, 'seq'> => ({ kind, id, at, x: 1, y: 2, source: 'simulator' });

test('timeline: due events oldest first, batch cap, equal times in scheduling order, skip before CONSUME_FROM', () => {
  const t = new Timeline();
  t.schedule(ev('move', 3000, 'a'));
  t.schedule(ev('move', 1000, 'b'));
  t.schedule(ev('entry', 2000, 'c'));
  t.schedule(ev('move', 2000, 'd'));
  t.schedule(ev('exit', 9000, 'e'));
  assert.is(t.earliest(), 1000);
  let r = t.take(2500, 2);
  assert.equal(
    r.events.map((e) => e.id),
    ['b', 'c'],
  );
  assert.equal(t.backlog(2500), { due: 1, lagMs: 500 });
  r = t.take(2500, 10);
  assert.equal(
    r.events.map((e) => e.id),
    ['d'],
  );
  assert.is(t.skipBefore(5000), 1);
  assert.equal(
    t.take(Infinity, Infinity).events.map((e) => e.id),
    ['e'],
  );
  assert.is(t.size, 0);
});

test('timeline: STALE_EVENTS=publish publishes late, drop drops stale moves but keeps entries and exits', () => {
  for (const policy of ['publish', 'drop'] as const) {
    const t = new Timeline();
    t.schedule(ev('entry', 100));
    t.schedule(ev('move', 200));
    t.schedule(ev('move', 300));
    t.schedule(ev('exit', 400));
    t.schedule(ev('move', 1500, 'fresh'));
    // the previous check was at 1000: everything due by then is stale
    const r = t.take(2000, 10, policy, 1000);
    assert.equal(
      r.events.map((e) => `${e.kind}:${e.id}`),
      policy === 'publish' ? ['entry:1', 'move:1', 'move:1', 'exit:1', 'move:fresh'] : ['entry:1', 'exit:1', 'move:fresh'],
    );
    assert.is(r.dropped, policy === 'drop' ? 2 : 0);
  }
});

test('simulation checks: the batch cap limits each check, the backlog is published later (or dropped)', () => {
  const run = (policy: 'publish' | 'drop') => {
    const sim = new CustomerSimulation({ seed: 5, customers: defaultCustomers(5), averageInStore: 50, startMs: FROM, warmStart: true });
    sim.openDoors();
    let published = 0,
      dropped = 0,
      maxBatch = 0;
    for (let t = FROM + 1000; t <= FROM + 600_000; t += 1000) {
      const r = sim.check(t, 10, policy);
      published += r.events.length;
      dropped += r.dropped;
      maxBatch = Math.max(maxBatch, r.events.length);
    }
    const backlog = sim.timeline.backlog(FROM + 600_000);
    sim.close();
    return { published, dropped, maxBatch, backlog };
  };
  const pub = run('publish');
  assert.is(pub.maxBatch, 10);
  assert.is(pub.dropped, 0);
  assert.ok(pub.backlog.due > 0 && pub.backlog.lagMs > 0, 'at 50 shoppers, 10 events/s falls behind');
  const drop = run('drop');
  assert.ok(drop.dropped > 0);
  assert.ok(drop.backlog.lagMs < pub.backlog.lagMs, `dropping keeps up better (${drop.backlog.lagMs} < ${pub.backlog.lagMs})`);
  // uncapped, nothing stays behind
  const sim = new CustomerSimulation({ seed: 5, customers: defaultCustomers(5), averageInStore: 50, startMs: FROM, warmStart: true });
  sim.openDoors();
  for (let t = FROM + 1000; t <= FROM + 60_000; t += 1000) sim.check(t, Infinity);
  assert.is(sim.timeline.backlog(FROM + 60_000).due, 0);
  assert.ok(sim.registry.size > 20, `warm start: ${sim.registry.size} inside after a minute`);
  const views = sim.shoppers();
  for (const v of views) assert.ok(['entering', 'walking', 'dwelling', 'browsing', 'leaving'].includes(v.state) && insidePlan(v), JSON.stringify(v));
  sim.setAverage(0);
  for (let t = FROM + 61_000; t <= FROM + 4 * 3_600_000; t += 60_000) sim.check(t);
  assert.is(sim.registry.size, 0, 'with an average of 0 the store empties');
  sim.close();
});

test('shoppers() shows where each shopper last moved; a pause moves the moves planned ahead along with the clock', () => {
  const sim = new CustomerSimulation({ seed: 9, customers: defaultCustomers(9), averageInStore: 30, startMs: FROM, warmStart: true });
  sim.openDoors();
  const last = new Map<string, { x: number; y: number }>();
  const publish = (events: TimelineEvent[]) => {
    for (const e of events) e.kind === 'exit' ? last.delete(e.id) : last.set(e.id, { x: e.x, y: e.y });
  };
  let t = FROM;
  for (; t <= FROM + 300_000; t += 1000) publish(sim.check(t).events);
  const before = sim.shoppers();
  assert.ok(before.length > 10, `${before.length} inside`);
  for (const v of before) assert.equal({ x: v.x, y: v.y }, last.get(v.id), `shopper ${v.id} is where it last moved`);
  assert.ok(sim.timeline.size > 0, 'moves are planned ahead');
  // a pause of an hour: nothing planned ahead becomes due (or stale) because of it
  const pauseMs = 3_600_000,
    paused = t - 1000;
  sim.shift(pauseMs);
  assert.equal(sim.shoppers(), before, 'shoppers keep their places over a pause');
  const resumed = sim.check(paused + pauseMs + 1000, Infinity, 'drop');
  assert.is(resumed.dropped, 0);
  for (const e of resumed.events) assert.ok(e.at > paused + pauseMs, `${e.kind} of ${e.id} at ${e.at - paused - pauseMs} ms after the resume`);
  for (t = paused + pauseMs + 2000; t <= paused + pauseMs + 120_000; t += 1000) publish(sim.check(t).events);
  for (const v of sim.shoppers()) assert.equal({ x: v.x, y: v.y }, last.get(v.id), `after the pause, shopper ${v.id} is where it last moved`);
  sim.close();
});

test('timeline: postpone moves the selected events and keeps the order', () => {
  const t = new Timeline();
  t.schedule({ ...ev('move', 1000, 'a'), source: 'scenario' });
  t.schedule(ev('move', 2000, 'b'));
  t.schedule(ev('move', 1500, 'c'));
  t.schedule({ ...ev('move', 3000, 'd'), source: 'scenario' });
  t.postpone(2000, (e) => e.source === 'simulator');
  assert.equal(
    t.take(Infinity, Infinity).events.map((e) => `${e.id}@${e.at}`),
    ['a@1000', 'd@3000', 'c@3500', 'b@4000'],
  );
});

const NOW = Date.parse('2024-05-01T12:00:00Z');

test('scenario: timestamps in s, ms or ISO; sorted (equal times keep their order); recalculate_time starts it now', () => {
  const body = {
    customer: { customer_id: 42 },
    path: [
      { type: 'ENTER', location: { x: 937, y: 50 }, timestamp: 1700000000 },
      { type: 'move', location: { x: 700, y: 500 }, timestamp: 1700000010000 },
      { type: 'MOVE', location: { x: 701, y: 501 }, timestamp: '2023-11-14T22:13:30+00:00' },
      { type: 'MOVE', location: { x: 702, y: 502 }, timestamp: 1700000010 },
      { type: 'EXIT', location: { x: 1071, y: 50 }, timestamp: 1700000040.5 },
    ],
  };
  const r = expandScenario(body, NOW, false);
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is(r.scenario.customerId, '42');
  assert.equal(r.scenario.steps, [
    { kind: 'entry', at: 1700000000000, x: 937, y: 50 },
    { kind: 'move', at: 1700000010000, x: 700, y: 500 },
    { kind: 'move', at: 1700000010000, x: 701, y: 501 },
    { kind: 'move', at: 1700000010000, x: 702, y: 502 },
    { kind: 'exit', at: 1700000040500, x: 1071, y: 50 },
  ]);
  const shifted = expandScenario(body, NOW, true);
  assert.ok(shifted.ok);
  if (shifted.ok)
    assert.equal(
      shifted.scenario.steps.map((s) => s.at - NOW),
      [0, 10000, 10000, 10000, 40500],
    );
});

test('scenario draft: 10 s from now, distance × 0.03 s per step, a focus adds 5 moves 7.5 s apart', () => {
  const r = expandDraft(
    {
      customer: { customer_id: '7' },
      path: [
        { type: 'move', location: { x: 100, y: 100 } },
        { type: 'focus', location: { x: 400, y: 500 } }, // 500 units on
        { type: 'MOVE', location: { x: 400, y: 600 } }, // 100 units on
      ],
    },
    NOW,
  );
  assert.ok(r.ok);
  if (!r.ok) return;
  const t0 = NOW + 10_000,
    t1 = t0 + 15_000;
  assert.equal(r.scenario.steps, [
    { kind: 'move', at: t0, x: 100, y: 100 },
    { kind: 'move', at: t1, x: 400, y: 500 },
    ...[1, 2, 3, 4, 5].map((k) => ({ kind: 'move' as const, at: t1 + k * 7500, x: 400, y: 500 })),
    { kind: 'move', at: t1 + 5 * 7500 + 3000, x: 400, y: 600 },
  ]);
});

test('bad scenario bodies are refused with every problem named', () => {
  const bad = (body: unknown, draft = false) => {
    const r = draft ? expandDraft(body, NOW) : expandScenario(body, NOW, false);
    assert.not.ok(r.ok, JSON.stringify(body));
    return r.ok ? '' : r.problems.join(' | ');
  };
  assert.match(bad(null), 'expected a JSON object');
  assert.match(bad([1]), 'expected a JSON object');
  assert.match(bad({ customer: { customer_id: '1' }, path: [] }), '/path: empty');
  assert.match(bad({ customer: { customer_id: '1' } }), '/path: required');
  assert.match(bad({ path: [{ type: 'ENTER', location: { x: 1, y: 1 }, timestamp: 1 }] }), '/customer/customer_id');
  const many = bad({
    customer: { customer_id: '1' },
    path: [
      { type: 'JUMP', location: { x: 1, y: 1 }, timestamp: 1 },
      { type: 'MOVE', location: { x: 1, y: 1 } },
      { type: 'MOVE', location: { x: 5000, y: 1 }, timestamp: 1 },
      { type: 'MOVE', location: { x: 1 }, timestamp: 'yesterday' },
    ],
  });
  assert.match(many, '/path/0/type: unknown step type "JUMP"');
  assert.match(many, '/path/1/timestamp: missing');
  assert.match(many, '/path/2/location: (5000, 1) is outside the store plan');
  assert.match(many, '/path/3/location: required');
  assert.match(many, '/path/3/timestamp: unreadable');
  assert.match(
    bad({ customer: { customer_id: '1' }, path: [{ type: 'ENTER', location: { x: 1, y: 1 } }] }, true),
    '/path/0/type: unknown step type "ENTER" (expected move or focus)',
  );
  assert.match(bad({ customer: { customer_id: 'a b' }, path: [{ type: 'move', location: { x: 1, y: 1 } }] }, true), '/customer/customer_id');
});

test.run();
