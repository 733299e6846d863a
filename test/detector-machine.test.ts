/** The focus-detector machine as a pure function of moves: thresholds, borders, dwells, browsing, the end. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { focusDetectorMachine, type DetectorEmitted } from '../machines/focus-detector.ts';
import { STORE_PLAN, departmentAt } from '../actors/data/store-plan.ts';

const MEN = { x: 900, y: 800 };
const BOYS = { x: 800, y: 500 };
const AISLE = { x: 300, y: 200 };

function detector(opts: { focusMinMoves?: number; browsingMinMoves?: number; browsingRadius?: number; idleTimeoutS?: number } = {}) {
  const actor = createActor(focusDetectorMachine, {
    input: {
      customerId: '7',
      focusMinMoves: opts.focusMinMoves ?? 3,
      browsingMinMoves: opts.browsingMinMoves ?? 6,
      browsingRadius: opts.browsingRadius,
      idleTimeoutS: opts.idleTimeoutS ?? 7200,
    },
  });
  const out: DetectorEmitted[] = [];
  actor.on('focus', (e) => void out.push(e));
  actor.on('browsing', (e) => void out.push(e));
  const errors: unknown[] = [];
  actor.subscribe({ error: (err) => errors.push(err) });
  actor.start();
  let ts = 1000;
  let n = 0;
  const move = (p: { x: number; y: number }, at = ++ts) => actor.send({ type: 'move', ts: at, x: p.x, y: p.y, inputId: `in${++n}` });
  const moves = (p: { x: number; y: number }, count: number) => {
    for (let i = 0; i < count; i++) move(p);
  };
  return { actor, out, errors, move, moves, kinds: () => out.map((e) => (e.type === 'focus' ? `focus:${e.dep}` : 'browsing')) };
}

test('three consecutive moves in Men → exactly one focus, carrying the third move (ts, position, input id)', () => {
  const d = detector();
  d.move(MEN, 2000);
  d.move(MEN, 2005);
  assert.equal(d.out, []);
  d.move({ x: 901, y: 801 }, 2010);
  assert.equal(d.out, [{ type: 'focus', customerId: '7', ts: 2010, dep: 'Men', x: 901, y: 801, inputId: 'in3' }]);
  d.moves(MEN, 10); // one focus per dwell, not one per move
  assert.is(d.out.length, 1);
  assert.is(d.actor.getSnapshot().value, 'dwelling');
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
  assert.equal(d.out.at(-1), { type: 'browsing', customerId: '7', ts: d.out.at(-1)!.ts, x: 1500, y: 100, inputId: 'in12' });
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
  assert.equal(linger.out.at(-1), { type: 'browsing', customerId: '7', ts: linger.out.at(-1)!.ts, x: 200, y: 240, inputId: 'in15' });
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
  e.actor.send({ type: 'entry', ts: 5000 });
  assert.is(e.actor.getSnapshot().value, 'arrived');
  e.move(MEN, 5001);
  e.move(MEN, 5002);
  assert.equal(e.kinds(), []);
  e.move(MEN, 5003);
  assert.equal(e.kinds(), ['focus:Men']);
});

test('exit ends the actor; so does SESSION_IDLE_TIMEOUT of event time without events', () => {
  const d = detector();
  d.moves(MEN, 2);
  d.actor.send({ type: 'exit', ts: 3000 });
  assert.is(d.actor.getSnapshot().status, 'done');
  assert.equal(d.actor.getSnapshot().output, { customerId: '7', reason: 'exit' });
  assert.equal(d.kinds(), []);

  const i = detector({ idleTimeoutS: 60 });
  i.move(MEN, 1000);
  i.actor.send({ type: 'tick', ts: 1059 });
  assert.is(i.actor.getSnapshot().status, 'active');
  i.actor.send({ type: 'tick', ts: 1060 });
  assert.is(i.actor.getSnapshot().status, 'done');
  assert.equal(i.actor.getSnapshot().output, { customerId: '7', reason: 'idle' });
});

test.run();
