/**
 * How a simulated shopper moves through the store plan (REFERENCE.md §4). Pure functions over a
 * shopper's position and a seeded stream; the customer machine (machines/customer.ts) calls them.
 *
 * Shoppers walk on aisle lanes around the department block (every point of them is outside every
 * department), enter a department through its "door" on the lane, dwell at one spot inside (≥ 3
 * moves: a focus for the detector), and now and then linger in one stretch of aisle (≥ 6 moves close
 * together outside every department: a browsing event, "needs help"). Entrance and exit connect to
 * the front aisle. Each leg takes a lane of its own, from the ring by the departments out to the
 * walls, so shoppers spread over the floor instead of walking in one file.
 */
import type { Department } from '../../schemas/departments.ts';
import type { Prng } from '../kernel/prng.ts';
import { STORE_PLAN, departmentAt, insidePlan, type Point, type Rect } from '../data/store-plan.ts';

export interface ShopperProfile {
  customerId: string;
  gender: 'F' | 'M';
  age: number;
}

/** A stop of the visit: a department to dwell in, or a wander in the aisles. */
export type Stop = { kind: 'department'; dep: Department; moves: number } | { kind: 'wander'; moves: number };

// The aisle ring: front (y 430), right (x 1330), back (y 930), left (x 430) aisles; 13+ units
// from every department rectangle, so a jitter of a few units never lands inside one.
const RING: Point[] = [
  { x: 430, y: 430 },
  { x: 1330, y: 430 },
  { x: 1330, y: 930 },
  { x: 430, y: 930 },
];
const SIDE = RING.map((p, i) => Math.hypot(RING[(i + 1) % 4].x - p.x, RING[(i + 1) % 4].y - p.y));
const CORNER_S = SIDE.map((_, i) => SIDE.slice(0, i).reduce((a, b) => a + b, 0));
export const RING_LENGTH = SIDE.reduce((a, b) => a + b, 0);

/** Where each department is entered from the ring (ring parameter s). */
export const DOORS: Record<Department, number> = {
  Boys: 402, // front aisle, x 832
  Girls: 727, // front aisle, x 1157
  Men: 1240, // right aisle, y 770
  Sport: 1830, // back aisle, x 900
  Women: 2570, // left aisle, y 660
};
const ENTRANCE_S = STORE_PLAN.entrance.x - RING[0].x; // front aisle below the entrance
const EXIT_S = STORE_PLAN.exit.x - RING[0].x;
export const ENTRANCE_S_PARAM = ENTRANCE_S;

const mod = (s: number) => ((s % RING_LENGTH) + RING_LENGTH) % RING_LENGTH;

/**
 * How far beyond the ring each side's lane runs at lane 1 (front, right, back, left): the front aisle
 * from y 430 up to 180, the right one from x 1330 to 1630, the back one from y 930 to 970 (Sport starts
 * at 984), the left one from x 430 to 150. Lane 0 is the ring itself.
 */
const LANE_SPREAD = [250, 300, 40, 280];
/** The corners of the lane `lane` (0..1): the ring pushed outwards side by side. */
function laneCorner(i: number, lane: number): Point {
  const [front, right, back, left] = LANE_SPREAD.map((d) => d * lane);
  const c = RING[i];
  return { x: c.x + (i === 0 || i === 3 ? -left : right), y: c.y + (i < 2 ? -front : back) };
}

/** The point at ring parameter s, on lane `lane` (0 = the ring; the same fraction of the same side). */
export function ringPoint(s: number, lane = 0): Point {
  s = mod(s);
  for (let i = 3; i >= 0; i--) {
    if (s >= CORNER_S[i]) {
      const a = laneCorner(i, lane),
        b = laneCorner((i + 1) % 4, lane),
        f = (s - CORNER_S[i]) / SIDE[i];
      return { x: a.x + (b.x - a.x) * f, y: a.y + (b.y - a.y) * f };
    }
  }
  return laneCorner(0, lane);
}

/** Waypoints along lane `lane` from s0 to s1 the shorter way round (corners passed, then the end point). */
export function ringPath(s0: number, s1: number, lane = 0): Point[] {
  const fwd = mod(s1 - s0);
  const dir = fwd <= RING_LENGTH / 2 ? 1 : -1;
  const dist = dir === 1 ? fwd : RING_LENGTH - fwd;
  const out: Point[] = [];
  const corners = CORNER_S.map((c, i) => ({ c, i }))
    .map(({ c, i }) => ({ d: dir === 1 ? mod(c - s0) : mod(s0 - c), p: laneCorner(i, lane) }))
    .filter(({ d }) => d > 0 && d < dist)
    .sort((a, b) => a.d - b.d);
  for (const { p } of corners) out.push(p);
  out.push(ringPoint(s1, lane));
  return out;
}

const INTEREST: Record<'F' | 'M', Record<Department, number>> = {
  F: { Women: 0.85, Girls: 0.3, Boys: 0.25, Men: 0.2, Sport: 0.3 },
  M: { Men: 0.85, Sport: 0.45, Boys: 0.25, Girls: 0.2, Women: 0.15 },
};

/** How interested the shopper is in each department (0..1), from gender and age. */
export function interests(p: ShopperProfile): Record<Department, number> {
  const i = { ...INTEREST[p.gender] };
  if (p.age < 30) i.Sport += 0.2;
  else if (p.age < 55) {
    i.Boys += 0.15;
    i.Girls += 0.15;
  } // parents
  if (p.age >= 60) i.Sport = Math.max(0.05, i.Sport - 0.2);
  return i;
}

/** Chance that a shopper lingers in the aisles before a department, and before leaving (needs help). */
export const LINGER_CHANCE = { beforeDepartment: 0.1, beforeLeaving: 0.05 };

/**
 * The visit's stops: departments picked by interest (at least one), visited in ring order from the
 * entrance in a random direction, with a linger in the aisles now and then. `warm` keeps a random
 * suffix (shoppers already inside when the simulator starts).
 */
export function planRoute(p: ShopperProfile, rng: Prng, warm = false): Stop[] {
  const int = interests(p);
  const deps = (Object.keys(int) as Department[]).filter((d) => rng.chance(int[d]));
  if (deps.length === 0) deps.push((Object.keys(int) as Department[]).reduce((a, b) => (int[b] > int[a] ? b : a)));
  const dir = rng.chance(0.5) ? 1 : -1;
  deps.sort((a, b) => mod(dir * (DOORS[a] - ENTRANCE_S)) - mod(dir * (DOORS[b] - ENTRANCE_S)));
  const stops: Stop[] = [];
  for (const dep of deps) {
    if (rng.chance(LINGER_CHANCE.beforeDepartment)) stops.push({ kind: 'wander', moves: 6 + rng.poisson(2) });
    stops.push({ kind: 'department', dep, moves: 3 + rng.poisson(4 * int[dep]) });
  }
  if (rng.chance(LINGER_CHANCE.beforeLeaving)) stops.push({ kind: 'wander', moves: 6 + rng.poisson(2) });
  return warm ? stops.slice(rng.int(0, stops.length - 1)) : stops;
}

/** Walking pace in plan units per move: older shoppers walk slower. */
export function paceOf(p: ShopperProfile, rng: Prng): number {
  return Math.round(Math.max(50, 110 - Math.max(0, p.age - 40) * 0.8 + rng.gaussian(0, 8)));
}

/** Delays between moves, in ms. */
export const DELAYS = {
  walk: (rng: Prng) => rng.int(2000, 4000),
  dwell: (rng: Prng) => rng.int(5000, 12000),
  wander: (rng: Prng) => rng.int(3000, 6000),
  enter: (rng: Prng) => rng.int(1000, 3000),
};

const MARGIN = 20;
/** A spot inside the department (away from its borders). */
export function spotIn(dep: Department, rng: Prng): Point {
  const r = STORE_PLAN.departments[dep];
  return { x: rng.int(r.x1 + MARGIN, r.x2 - MARGIN), y: rng.int(r.y1 + MARGIN, r.y2 - MARGIN) };
}

/** Near the spot, still inside the rectangle (looking at the shelves). */
export function jitterInside(spot: Point, r: Rect, rng: Prng): Point {
  const x = Math.round(spot.x + rng.gaussian(0, 4)),
    y = Math.round(spot.y + rng.gaussian(0, 4));
  return { x: Math.min(r.x2 - 2, Math.max(r.x1 + 2, x)), y: Math.min(r.y2 - 2, Math.max(r.y1 + 2, y)) };
}

/** Waypoints from where the shopper joins lane `lane` (ring parameter `s`) to ring parameter `to`, then `then`. */
export function legVia(s: number, to: number, then: Point[], lane = 0): Point[] {
  return [ringPoint(s, lane), ...ringPath(s, to, lane), ...then];
}

export const ENTRANCE_LEG_START = ENTRANCE_S;
export const EXIT_S_PARAM = EXIT_S;

/** Advances `dist` units along the waypoints; returns the new position and the waypoints left. */
export function advance(pos: Point, waypoints: Point[], dist: number): { pos: Point; waypoints: Point[] } {
  let p = pos,
    i = 0,
    left = dist;
  while (i < waypoints.length) {
    const w = waypoints[i];
    const d = Math.hypot(w.x - p.x, w.y - p.y);
    if (d > left) {
      const f = left / d;
      p = { x: p.x + (w.x - p.x) * f, y: p.y + (w.y - p.y) * f };
      return { pos: p, waypoints: waypoints.slice(i) };
    }
    left -= d;
    p = w;
    i++;
  }
  return { pos: p, waypoints: [] };
}

/** Length still to walk along the waypoints. */
export function remaining(pos: Point, waypoints: Point[]): number {
  let p = pos,
    total = 0;
  for (const w of waypoints) {
    total += Math.hypot(w.x - p.x, w.y - p.y);
    p = w;
  }
  return total;
}

/** A wander step along the ring: a short way on, sometimes turning back; a few units off the line (the benchmark baseline's steps). */
export function wanderStep(s: number, dir: 1 | -1, rng: Prng): { s: number; dir: 1 | -1; pos: Point } {
  const d: 1 | -1 = rng.chance(0.2) ? (-dir as 1 | -1) : dir;
  const s2 = mod(s + d * rng.int(20, 60));
  const p = ringPoint(s2);
  return { s: s2, dir: d, pos: { x: Math.round(p.x + rng.int(-4, 4)), y: Math.round(p.y + rng.int(-4, 4)) } };
}

export const round = (p: Point): Point => ({ x: Math.round(p.x), y: Math.round(p.y) });

/**
 * A move of a leg (a walk, a dwell, a wander), `inMs` after the leg starts. A leg is planned in one
 * go, so the machine takes one transition per leg rather than one per move.
 */
export interface LegMove {
  inMs: number;
  x: number;
  y: number;
}

/** Walks the waypoints from `from` at `pace` units per move, one move every walk delay; the last move arrives. */
export function walkLeg(from: Point, waypoints: Point[], pace: number, rng: Prng): LegMove[] {
  const out: LegMove[] = [];
  let x = from.x,
    y = from.y,
    i = 0,
    t = 0;
  do {
    t += DELAYS.walk(rng);
    let left = pace;
    while (i < waypoints.length) {
      const w = waypoints[i];
      const d = Math.hypot(w.x - x, w.y - y);
      if (d > left) {
        const f = left / d;
        x += (w.x - x) * f;
        y += (w.y - y) * f;
        break;
      }
      left -= d;
      x = w.x;
      y = w.y;
      i++;
    }
    // positions are published (and walked on from) in whole units
    x = Math.round(x);
    y = Math.round(y);
    out.push({ inMs: t, x, y });
  } while (i < waypoints.length);
  return out;
}

/** `moves` moves near the spot, inside the department's rectangle, one every dwell delay. */
export function dwellLeg(spot: Point, r: Rect, moves: number, rng: Prng): LegMove[] {
  const out: LegMove[] = [];
  let t = 0;
  for (let k = 0; k < moves; k++) {
    t += DELAYS.dwell(rng);
    const p = jitterInside(spot, r, rng);
    out.push({ inMs: t, x: p.x, y: p.y });
  }
  return out;
}

/** A lingering shopper's moves stay within this distance of one spot (so within twice it of each other). */
export const LINGER_RADIUS = 60;

/**
 * A linger in the aisles: from `from`, out to lane `lane` at ring parameter `s` and 100–400 units along
 * it, then `moves` moves around that spot (within LINGER_RADIUS, outside every department), one every
 * wander delay. Returns the leg and the ring parameter of the spot.
 */
export function lingerLeg(from: Point, s: number, moves: number, pace: number, lane: number, rng: Prng): { leg: LegMove[]; s: number } {
  const to = mod(s + (rng.chance(0.5) ? 1 : -1) * rng.int(100, 400));
  const spot = ringPoint(to, lane);
  const out = walkLeg(from, legVia(s, to, [], lane), pace, rng);
  let t = out[out.length - 1].inMs;
  for (let k = 0; k < moves; k++) {
    t += DELAYS.wander(rng);
    const p = nearInAisle(spot, rng);
    out.push({ inMs: t, x: p.x, y: p.y });
  }
  return { leg: out, s: to };
}

/** A point within LINGER_RADIUS of the spot, inside the plan and outside every department (the spot itself if none is found). */
function nearInAisle(spot: Point, rng: Prng): Point {
  for (let tries = 0; tries < 8; tries++) {
    const a = rng.float() * 2 * Math.PI,
      r = LINGER_RADIUS * Math.sqrt(rng.float());
    const p = { x: Math.round(spot.x + r * Math.cos(a)), y: Math.round(spot.y + r * Math.sin(a)) };
    if (insidePlan(p) && departmentAt(p) === undefined) return p;
  }
  return round(spot);
}
