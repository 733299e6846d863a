/**
 * A simulated shopper's visit (seed 001): enters, walks the aisles to the departments it is
 * interested in, dwells in each (several moves at one spot), sometimes wanders, and leaves.
 * One actor per shopper in the store, hosted by the generic customer host on a simulated clock.
 *
 * The visit is a series of legs (a walk to a department, a dwell, a wander, the walk out). Entering
 * a leg's state plans all its moves at once and emits them (`publishLeg`, times relative to now);
 * the host puts them on the timeline ahead of time, and one `after` delay ends the leg at its last
 * move. One transition per leg instead of one per move keeps xstate's per-transition work off the
 * hot path (issue 6: ≥ 100,000 events/s in virtual time).
 * Randomness comes from the seeded stream in the input, so a seed replays the same visit.
 */
import { setup, assign, emit } from 'xstate';
import { resumePrng, type Prng, type PrngState } from '../actors/kernel/prng.ts';
import { must } from '../actors/kernel/must.ts';
import type { Point } from '../actors/data/store-plan.ts';
import { STORE_PLAN } from '../actors/data/store-plan.ts';
import type { Department } from '../schemas/departments.ts';
import {
  DELAYS,
  DOORS,
  ENTRANCE_LEG_START,
  EXIT_S_PARAM,
  dwellLeg,
  legVia,
  lingerLeg,
  paceOf,
  planRoute,
  spotIn,
  walkLeg,
  type LegMove,
  type ShopperProfile,
  type Stop,
} from '../actors/simulator/shopper.ts';

export interface CustomerInput {
  profile: ShopperProfile;
  /** The visit's own seeded stream (e.g. fork(`visit/<n>`)). */
  rng: Prng;
  /** Already inside when the simulation starts: a shorter, random part of a visit. */
  warm?: boolean;
}

export type CustomerEmitted =
  | { type: 'publish'; kind: 'entry' | 'exit'; x: number; y: number }
  /** The moves of a leg, each `inMs` after now (the host schedules them on the timeline). */
  | { type: 'publishLeg'; moves: LegMove[] };

export interface CustomerContext {
  customerId: string;
  /** The visit's generator, as data: each action resumes it, draws, and keeps the state it reached. */
  rng: PrngState;
  pace: number;
  /** Where the shopper is when the current leg starts (its moves follow). */
  pos: Point;
  stops: Stop[];
  /** Index in `stops` of the next stop to start. */
  next: number;
  /** Ring parameter where the shopper rejoins the aisle ring. */
  ringS: number;
  department: Department | undefined;
  spot: Point | undefined;
  /** Moves of the dwell ahead (set when the walk to the department is planned). */
  dwellMoves: number;
  /** The current leg's moves, already emitted (not copied afterwards). */
  leg: LegMove[];
  /** How long the current leg lasts (until its last move), or the wait at the entrance. */
  legMs: number;
  /** Moves emitted so far, the current leg's included. */
  moves: number;
}

/** Where the shopper is at the end of the current leg (where the next one starts). */
const legEnd = (c: CustomerContext): Point => (c.leg.length ? c.leg[c.leg.length - 1] : c.pos);
/** A new leg starting where the current one ends. */
const startLeg = (c: CustomerContext, leg: LegMove[]) => {
  const end = legEnd(c);
  return { pos: { x: end.x, y: end.y }, leg, legMs: leg[leg.length - 1].inMs, moves: c.moves + leg.length };
};

export const customerMachine = setup({
  types: {
    context: {} as CustomerContext,
    input: {} as CustomerInput,
    emitted: {} as CustomerEmitted,
    output: {} as { customerId: string; moves: number },
  },
  delays: {
    /** Until the current leg's last move (walk moves 2–4 s apart, dwell 5–12 s, linger 3–6 s; entrance 1–3 s). */
    legTime: ({ context }) => context.legMs,
  },
  guards: {
    nextStopIsDepartment: ({ context }) => context.stops[context.next]?.kind === 'department',
    nextStopIsWander: ({ context }) => context.stops[context.next]?.kind === 'wander',
  },
  actions: {
    publishEntry: emit(({ context }) => ({ type: 'publish' as const, kind: 'entry' as const, x: context.pos.x, y: context.pos.y })),
    publishExit: emit(({ context }) => {
      const end = legEnd(context);
      return { type: 'publish' as const, kind: 'exit' as const, x: end.x, y: end.y };
    }),
    /** The leg's moves go on the timeline now, each at its own time. */
    publishLeg: emit(({ context }) => ({ type: 'publishLeg' as const, moves: context.leg })),
    waitToEnter: assign(({ context }) => {
      const rng = resumePrng(context.rng);
      return { legMs: DELAYS.enter(rng), rng: rng.state() };
    }),
    /** The walk to the next department: out to an aisle lane of its own, along it to the door, then to a spot inside. */
    planWalkToDepartment: assign(({ context }) => {
      const rng = resumePrng(context.rng);
      const stop = context.stops[context.next] as Extract<Stop, { kind: 'department' }>;
      const spot = spotIn(stop.dep, rng);
      const leg = walkLeg(legEnd(context), legVia(context.ringS, DOORS[stop.dep], [spot], rng.float()), context.pace, rng);
      return { ...startLeg(context, leg), spot, department: stop.dep, dwellMoves: stop.moves, next: context.next + 1, rng: rng.state() };
    }),
    /** Moves at nearly the same spot; the ring is rejoined at the door afterwards. */
    planDwell: assign(({ context }) => {
      const rng = resumePrng(context.rng);
      const department = must(context.department, 'the department');
      const leg = dwellLeg(must(context.spot, 'the dwell spot'), STORE_PLAN.departments[department], context.dwellMoves, rng);
      return { ...startLeg(context, leg), ringS: DOORS[department], rng: rng.state() };
    }),
    /** Out to an aisle lane, a little way along it, then lingering around one spot (needs help). */
    planWander: assign(({ context }) => {
      const rng = resumePrng(context.rng);
      const moves = (context.stops[context.next] as Extract<Stop, { kind: 'wander' }>).moves;
      const w = lingerLeg(legEnd(context), context.ringS, moves, context.pace, rng.float(), rng);
      return { ...startLeg(context, w.leg), ringS: w.s, department: undefined, spot: undefined, next: context.next + 1, rng: rng.state() };
    }),
    planWalkToExit: assign(({ context }) => {
      const rng = resumePrng(context.rng);
      const leg = walkLeg(legEnd(context), legVia(context.ringS, EXIT_S_PARAM, [STORE_PLAN.exit], rng.float()), context.pace, rng);
      return { ...startLeg(context, leg), department: undefined, spot: undefined, rng: rng.state() };
    }),
  },
}).createMachine({
  id: 'customer',
  description: 'A simulated shopper visiting the store, one leg (walk, dwell, wander) per state on the actor clock',
  context: ({ input }) => {
    // drawn from a copy: the input's generator stays as it was handed (a restored actor is given it again)
    const rng = resumePrng(input.rng.state());
    const pace = paceOf(input.profile, rng);
    const stops = planRoute(input.profile, rng, input.warm);
    return {
      customerId: input.profile.customerId,
      rng: rng.state(),
      pace,
      pos: { ...STORE_PLAN.entrance },
      stops,
      next: 0,
      ringS: ENTRANCE_LEG_START,
      department: undefined,
      spot: undefined,
      dwellMoves: 0,
      leg: [],
      legMs: 0,
      moves: 0,
    };
  },
  initial: 'entering',
  states: {
    entering: {
      description: 'At the entrance: the entry is published, then the shopper heads in',
      entry: ['publishEntry', 'waitToEnter'],
      after: { legTime: { target: 'choosing' } },
    },
    choosing: {
      description: 'Picks the next stop of the route: a department, a wander, or the exit when none is left',
      always: [{ guard: 'nextStopIsDepartment', target: 'walking' }, { guard: 'nextStopIsWander', target: 'browsing' }, { target: 'leaving' }],
    },
    walking: {
      description: 'Walks along the aisles to the department and into it: all the moves of the walk are planned and published at once',
      entry: ['planWalkToDepartment', 'publishLeg'],
      after: { legTime: { target: 'dwelling' } },
    },
    dwelling: {
      description: 'Looks at the goods: several moves at nearly the same spot inside the department (a focus)',
      entry: ['planDwell', 'publishLeg'],
      after: { legTime: { target: 'choosing' } },
    },
    browsing: {
      description: 'Lingers in one stretch of aisle, outside every department (a browsing: needs help)',
      entry: ['planWander', 'publishLeg'],
      after: { legTime: { target: 'choosing' } },
    },
    leaving: {
      description: 'Walks to the exit; the exit is published on arrival, with the last move',
      entry: ['planWalkToExit', 'publishLeg'],
      after: { legTime: { target: 'left', actions: 'publishExit' } },
    },
    left: {
      description: 'Out of the store: the visit is over',
      type: 'final',
    },
  },
  output: ({ context }) => ({ customerId: context.customerId, moves: context.moves }),
});
