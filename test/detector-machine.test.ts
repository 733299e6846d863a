/**
 * The detector as a pure function of moves (its footsteps and its statechart, through the processor the
 * live role and replay use): thresholds, borders, dwells, browsing, the end; the statechart alone; and the
 * rule as the statechart held it before footsteps counted the moves, on seeded random walks.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { focusDetectorMachine, type DetectorEmitted } from '../machines/focus-detector.ts';
import { STORE_PLAN, departmentAt, distance, type Point } from '../actors/data/store-plan.ts';
import { DetectorProcessor } from '../adapters/detector/processor.ts';
import type { LoggedEvent } from '../actors/kernel/event-log.ts';
import type { StoreEvent } from '../schemas/events.ts';
import { createPrng } from '../actors/kernel/prng.ts';

const MEN = { x: 900, y: 800 };
const BOYS = { x: 800, y: 500 };
const AISLE = { x: 300, y: 200 };

interface Detected {
  type: string;
  id: string;
  ts: number;
  dep?: string;
  x: number;
  y: number;
  cause: string;
}

function detector(opts: { focusMinMoves?: number; browsingMinMoves?: number; browsingRadius?: number; idleTimeoutS?: number } = {}) {
  const errors: unknown[] = [];
  const p = new DetectorProcessor({
    settings: {
      focusMinMoves: opts.focusMinMoves ?? 3,
      browsingMinMoves: opts.browsingMinMoves ?? 6,
      browsingRadius: opts.browsingRadius,
      idleTimeoutS: opts.idleTimeoutS ?? 7200,
    },
    topics: { focus: 'focus', browsing: 'browsing' },
    onError: (_id, err) => errors.push(err),
  });
  const out: Detected[] = [];
  let ts = 1000;
  let n = 0;
  const feed = (event: StoreEvent) => {
    n++;
    const logged = { position: n, messageId: `in${n}` } as LoggedEvent;
    for (const o of p.handle({ logged, event }))
      out.push({ type: o.type, ...(o.data as Omit<Detected, 'type' | 'cause'>), cause: must(o.metadata, 'o.metadata').cause as string });
  };
  const move = (pt: { x: number; y: number }, at = ++ts) => {
    feed({ kind: 'move', id: '7', ts: at, x: pt.x, y: pt.y });
  };
  const moves = (pt: { x: number; y: number }, count: number) => {
    for (let i = 0; i < count; i++) move(pt);
  };
  const state = () => p.shoppers.get('7')?.getSnapshot();
  return { p, out, errors, feed, move, moves, state, kinds: () => out.map((e) => (e.type === 'focus' ? `focus:${e.dep}` : 'browsing')) };
}

test('three consecutive moves in Men → exactly one focus, carrying the third move (ts, position, input id)', () => {
  const d = detector();
  d.move(MEN, 2000);
  d.move(MEN, 2005);
  assert.equal(d.out, []);
  d.move({ x: 901, y: 801 }, 2010);
  assert.equal(d.out, [{ type: 'focus', id: '7', ts: 2010, dep: 'Men', x: 901, y: 801, cause: 'in3' }]);
  for (let i = 1; i <= 10; i++) d.move(MEN, 2010 + i); // one focus per dwell, not one per move
  assert.is(d.out.length, 1);
  assert.is(d.state()?.value, 'dwelling');
  assert.equal(d.p.walkOf('7'), { zone: 'Men', moves: 13, lingered: true, lastTs: 2020, trail: [] });
  assert.equal(d.errors, []);
});

test('moves interrupted by another department restart the count', () => {
  const d = detector();
  d.moves(MEN, 2);
  d.move(BOYS);
  d.moves(MEN, 2);
  assert.equal(d.kinds(), []);
  d.move(MEN);
  assert.equal(d.kinds(), ['focus:Men']);
  d.moves(BOYS, 3);
  assert.equal(d.kinds(), ['focus:Men', 'focus:Boys']);
});

test('leaving and re-entering a department is a new dwell: a second focus', () => {
  const d = detector();
  d.moves(MEN, 3);
  d.move(AISLE);
  d.moves(MEN, 2);
  assert.equal(d.kinds(), ['focus:Men']);
  d.move(MEN);
  assert.equal(d.kinds(), ['focus:Men', 'focus:Men']);
});

test('department borders are inclusive; the gaps between rectangles are aisles', () => {
  for (const [dep, r] of Object.entries(STORE_PLAN.departments)) {
    for (const corner of [
      { x: r.x1, y: r.y1 },
      { x: r.x2, y: r.y2 },
      { x: r.x1, y: r.y2 },
      { x: r.x2, y: r.y1 },
    ]) {
      const d = detector();
      d.moves(corner, 3);
      assert.equal(d.kinds(), [`focus:${dep}`], `${dep} corner ${JSON.stringify(corner)}`);
    }
    for (const outside of [
      { x: r.x1 - 1, y: r.y1 },
      { x: r.x2 + 1, y: r.y2 },
      { x: r.x1, y: r.y1 - 1 },
      { x: r.x2, y: r.y2 + 1 },
    ]) {
      if (departmentAt(outside)) continue; // the neighbouring department's rectangle
      const d = detector();
      d.moves(outside, 3);
      assert.equal(d.kinds(), [], `just outside ${dep} at ${JSON.stringify(outside)}`);
    }
  }
  // Women ends at x=666, Men starts at x=672: the strip between is an aisle that breaks a dwell
  const d = detector();
  d.move({ x: 672, y: 700 });
  d.move({ x: 669, y: 700 });
  d.move({ x: 672, y: 700 });
  d.move({ x: 700, y: 664 });
  assert.equal(d.kinds(), []);
  d.move({ x: 1317, y: 879 });
  assert.equal(d.kinds(), ['focus:Men']);
  // Boys ends at y=658, Men starts at y=664
  const b = detector();
  b.move({ x: 700, y: 658 });
  b.move({ x: 700, y: 661 });
  b.move({ x: 700, y: 658 });
  b.move({ x: 700, y: 664 });
  b.move({ x: 700, y: 658 });
  b.move({ x: 700, y: 600 });
  assert.equal(b.kinds(), []);
  b.move({ x: 672, y: 443 });
  assert.equal(b.kinds(), ['focus:Boys']);
});

test('six consecutive moves outside every department → one browsing; a department visit resets the walk', () => {
  const d = detector();
  d.moves(AISLE, 5);
  d.move(MEN);
  d.moves(AISLE, 5);
  assert.equal(d.kinds(), []);
  d.move({ x: 1500, y: 100 });
  assert.equal(d.out.at(-1), { type: 'browsing', id: '7', ts: must(d.out.at(-1), 'd.out.at(-1)').ts, x: 1500, y: 100, cause: 'in12' });
  d.moves(AISLE, 20);
  assert.equal(d.kinds(), ['browsing']);
  d.moves(MEN, 3);
  d.moves(AISLE, 6);
  assert.equal(d.kinds(), ['browsing', 'focus:Men', 'browsing']);
});

test('thresholds are configurable: 1 move is a focus, 2 moves a browsing', () => {
  const d = detector({ focusMinMoves: 1, browsingMinMoves: 2 });
  d.move(BOYS);
  assert.equal(d.kinds(), ['focus:Boys']);
  d.move(AISLE);
  d.move(AISLE);
  assert.equal(d.kinds(), ['focus:Boys', 'browsing']);
});

test('BROWSING_RADIUS: walking between departments is no browsing; lingering in one stretch of aisle is', () => {
  // Boys → along the front aisle → Women, 60 units a move (a slow walker): 16 moves outside, never 6 within 150 units
  const walk = detector({ browsingRadius: 150 });
  walk.moves(BOYS, 3);
  for (let x = 820; x >= 340; x -= 60) walk.move({ x, y: 400 });
  for (let y = 460; y <= 700; y += 60) walk.move({ x: 340, y });
  walk.moves({ x: 500, y: 700 }, 3);
  assert.equal(walk.kinds(), ['focus:Boys', 'focus:Women']);
  // …with no radius (0, or a log recorded before the setting) the same walk is a browsing, as it always was
  const before = detector({ browsingRadius: 0 });
  before.moves(BOYS, 3);
  for (let x = 820; x >= 340; x -= 60) before.move({ x, y: 400 });
  assert.equal(before.kinds(), ['focus:Boys', 'browsing']);
  // lingering: after the walk, six moves within 150 units of the last of them, once per walk
  const linger = detector({ browsingRadius: 150 });
  for (let x = 820; x >= 340; x -= 60) linger.move({ x, y: 400 });
  for (const [x, y] of [
    [180, 230],
    [240, 270],
    [160, 250],
    [210, 200],
    [180, 270],
  ])
    linger.move({ x, y });
  assert.equal(linger.kinds(), []);
  linger.move({ x: 200, y: 240 });
  assert.equal(linger.out.at(-1), { type: 'browsing', id: '7', ts: must(linger.out.at(-1), 'linger.out.at(-1)').ts, x: 200, y: 240, cause: 'in15' });
  linger.moves({ x: 200, y: 240 }, 10);
  assert.equal(linger.kinds(), ['browsing']);
  // a corner does not fool it: 6 moves around a corner at 50 units span 177 units
  const corner = detector({ browsingRadius: 150 });
  for (const [x, y] of [
    [430, 230],
    [430, 280],
    [430, 330],
    [430, 380],
    [430, 430],
    [380, 430],
    [330, 430],
    [280, 430],
  ])
    corner.move({ x, y });
  assert.equal(corner.kinds(), []);
});

test('a move older than the newest seen is ignored; entry forgets the zone', () => {
  const d = detector();
  d.move(MEN, 100);
  d.move(MEN, 101);
  d.move(BOYS, 50); // late redelivery: not where the customer is now
  d.move(MEN, 102);
  assert.equal(d.kinds(), ['focus:Men']);
  const e = detector();
  e.moves(MEN, 2);
  e.feed({ kind: 'entry', id: '7', ts: 5000 });
  assert.is(e.state()?.value, 'arrived');
  e.move(MEN, 5001);
  e.move(MEN, 5002);
  assert.equal(e.kinds(), []);
  e.move(MEN, 5003);
  assert.equal(e.kinds(), ['focus:Men']);
});

test('exit ends the actor; so does SESSION_IDLE_TIMEOUT of event time without events', () => {
  const d = detector();
  d.moves(MEN, 2);
  const actor = must(d.p.shoppers.get('7'), 'd.p.shoppers.get("7")');
  d.feed({ kind: 'exit', id: '7', ts: 3000 });
  assert.is(actor.getSnapshot().status, 'done');
  assert.equal(actor.getSnapshot().output, { customerId: '7', reason: 'exit' });
  assert.equal(d.kinds(), []);
  assert.is(d.p.walkOf('7'), undefined, 'its footsteps are forgotten with it');

  // idle: 7 moves twice in Men, then stops
  const i = detector({ idleTimeoutS: 120 });
  i.moves(MEN, 2);
  const seven = must(i.p.shoppers.get('7'), 'i.p.shoppers.get("7")');
  // event time is the latest that two customers have reached: 8 and 9 carry it on
  const others = (from: number, to: number) => {
    for (let t = from; t <= to; t += 30) for (const id of ['8', '9']) i.feed({ kind: 'move', id, ts: t, x: AISLE.x, y: AISLE.y });
  };
  others(1000, 1100);
  assert.is(seven.getSnapshot().status, 'active', '7 moved at 1002: not quiet for 120 s by 1100');
  others(1130, 1400);
  assert.is(seven.getSnapshot().status, 'done');
  assert.equal(seven.getSnapshot().output, { customerId: '7', reason: 'idle' });
  assert.is(i.p.walkOf('7'), undefined);
});

test('the statechart alone: a zone, then lingered there → one announcement carrying that move; entry forgets the zone; exit ends', () => {
  const actor = createActor(focusDetectorMachine, { input: { customerId: '7', idleTimeoutS: 60 } }).start();
  const out: DetectorEmitted[] = [];
  actor.on('focus', (e) => void out.push(e));
  actor.on('browsing', (e) => void out.push(e));
  const m = (ts: number, p: Point, inputId: string) => ({ ts, x: p.x, y: p.y, inputId });
  actor.send({ type: 'zone', dep: 'Men', move: m(10, MEN, 'a') });
  assert.is(actor.getSnapshot().value, 'dwelling');
  actor.send({ type: 'lingered', move: m(12, MEN, 'c') });
  actor.send({ type: 'zone', dep: undefined, move: m(13, AISLE, 'd') });
  assert.is(actor.getSnapshot().value, 'walking');
  actor.send({ type: 'lingered', move: m(18, AISLE, 'i') });
  actor.send({ type: 'entry', ts: 20 });
  assert.is(actor.getSnapshot().value, 'arrived');
  actor.send({ type: 'lingered', move: m(21, AISLE, 'j') }); // no zone after entry: nothing to announce
  actor.send({ type: 'tick', ts: 79 });
  assert.is(actor.getSnapshot().status, 'active');
  actor.send({ type: 'exit', ts: 80 });
  assert.equal(out, [
    { type: 'focus', customerId: '7', ts: 12, dep: 'Men', x: MEN.x, y: MEN.y, inputId: 'c' },
    { type: 'browsing', customerId: '7', ts: 18, x: AISLE.x, y: AISLE.y, inputId: 'i' },
  ]);
  assert.equal(actor.getSnapshot().output, { customerId: '7', reason: 'exit' });
});

/**
 * The rule as the statechart held it before footsteps counted the moves (every move a transition):
 * a late move ignored; a move in the zone counted, into another zone a new count; the count reached
 * announced once per dwell or walk; entry forgets the zone; exit ends. Idle endings come from the host.
 */
function formerRule(rules: { focusMinMoves: number; browsingMinMoves: number; browsingRadius: number }) {
  type S = { dep: string | undefined; zone: boolean; moves: number; announced: boolean; lastTs: number; trail: Point[] };
  const customers = new Map<string, S>();
  const out: Detected[] = [];
  const lingering = (trail: Point[]) => {
    if (rules.browsingRadius <= 0) return true;
    const last = trail[trail.length - 1];
    return trail.length >= rules.browsingMinMoves && trail.slice(-rules.browsingMinMoves).every((p) => distance(p, last) <= rules.browsingRadius);
  };
  return {
    out,
    feed(e: StoreEvent, cause: string) {
      if (e.kind === 'exit') return void customers.delete(e.id);
      const c = customers.get(e.id) ?? { dep: undefined, zone: false, moves: 0, announced: false, lastTs: 0, trail: [] };
      customers.set(e.id, c);
      if (e.kind === 'entry')
        return void Object.assign(c, { lastTs: Math.max(c.lastTs, e.ts), dep: undefined, zone: false, moves: 0, announced: false, trail: [] });
      if (e.kind !== 'move' || e.ts < c.lastTs) return;
      c.lastTs = e.ts;
      const dep = departmentAt(e);
      if (c.zone && dep === c.dep) c.moves++;
      else Object.assign(c, { dep, zone: true, moves: 1, announced: false, trail: [] });
      if (dep === undefined && rules.browsingRadius > 0) c.trail = [...c.trail.slice(-(rules.browsingMinMoves - 1)), { x: e.x, y: e.y }];
      const due = dep !== undefined ? c.moves >= rules.focusMinMoves : c.moves >= rules.browsingMinMoves && lingering(c.trail);
      if (due && !c.announced) {
        c.announced = true;
        out.push({ type: dep ? 'focus' : 'browsing', id: e.id, ts: e.ts, ...(dep ? { dep } : {}), x: e.x, y: e.y, cause });
      }
    },
  };
}

test('footsteps and statechart decide what the former every-move statechart decided: 40 seeded stores of 6 customers, 400 events each', () => {
  let announced = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const rng = createPrng(`detector-${seed}`);
    const rules = { focusMinMoves: rng.int(1, 4), browsingMinMoves: rng.int(1, 7), browsingRadius: rng.pick([0, 0, 80, 150]) };
    const d = detector({ ...rules, idleTimeoutS: 1e9 });
    const former = formerRule(rules);
    const at = new Map<string, Point & { ts: number }>();
    for (let n = 1; n <= 400; n++) {
      const id = String(rng.int(1, 6));
      const here = at.get(id) ?? { x: 937, y: 50, ts: 0 };
      const roll = rng.float();
      // mostly small steps (dwells and lingering), some strides across the store, late moves, entries and exits
      const event: StoreEvent =
        roll < 0.04
          ? { kind: 'entry', id, ts: here.ts + 1 }
          : roll < 0.07
            ? { kind: 'exit', id, ts: here.ts + 1 }
            : {
                kind: 'move',
                id,
                ts: roll < 0.12 ? here.ts - rng.int(1, 5) : here.ts + rng.int(0, 3),
                ...(roll < 0.25
                  ? { x: rng.int(0, STORE_PLAN.width), y: rng.int(0, STORE_PLAN.height) }
                  : { x: Math.max(0, here.x + rng.int(-60, 60)), y: Math.max(0, here.y + rng.int(-60, 60)) }),
              };
      if (event.kind === 'move') at.set(id, { x: event.x, y: event.y, ts: Math.max(here.ts, event.ts) });
      else at.set(id, { ...here, ts: event.ts });
      d.feed(event);
      former.feed(event, `in${n}`);
    }
    assert.equal(d.out, former.out, `seed ${seed}, rules ${JSON.stringify(rules)}`);
    assert.equal(d.errors, []);
    announced += former.out.length;
  }
  assert.ok(announced > 1000, `the walks announce something to compare (${announced})`);
});

test.run();
