/**
 * A simulated shopper's visit (seed 001): enters, walks the aisles to the departments it is
 * interested in, dwells in each (several moves at one spot), sometimes wanders, and leaves.
 * One actor per shopper in the store, hosted by an ActorRegistry on a simulated clock.
 *
 * Every move is an `after` delay on the actor system's clock; each step emits `publish` events
 * (entry, move, exit) which the host stamps with the clock's time and puts on the timeline.
 * Randomness comes from the seeded stream in the input, so a seed replays the same visit.
 */
import { setup, assign, emit } from 'xstate';
import type { Prng } from '../actors/prng.ts';
import type { Point } from '../actors/store-plan.ts';
import { STORE_PLAN } from '../actors/store-plan.ts';
import type { Department } from '../schemas/departments.ts';
import {
  DELAYS, DOORS, ENTRANCE_LEG_START, EXIT_S_PARAM, advance, jitterInside, legVia, paceOf, planRoute, remaining,
  round, spotIn, wanderStep, type ShopperProfile, type Stop,
} from '../actors/shopper.ts';

export interface CustomerInput {
  profile: ShopperProfile;
  /** The visit's own seeded stream (e.g. fork(`visit/<n>`)). */
  rng: Prng;
  /** Already inside when the simulation starts: a shorter, random part of a visit. */
  warm?: boolean;
}

export type CustomerEmitted =
  | { type: 'publish'; kind: 'entry' | 'exit'; x: number; y: number }
  | { type: 'publish'; kind: 'move'; x: number; y: number };

export interface CustomerContext {
  customerId: string;
  rng: Prng;
  pace: number;
  pos: Point;
  stops: Stop[];
  /** Where the shopper is heading (walking), in order. */
  waypoints: Point[];
  /** Ring parameter where the shopper rejoins the aisle ring. */
  ringS: number;
  department: Department | undefined;
  spot: Point | undefined;
  movesLeft: number;
  wanderDir: 1 | -1;
  nextDelayMs: number;
  moves: number;
}

export const customerMachine = setup({
  types: {
    context: {} as CustomerContext,
    input: {} as CustomerInput,
    emitted: {} as CustomerEmitted,
    output: {} as { customerId: string; moves: number },
  },
  delays: {
    /** The delay drawn for the next step (walk 2–4 s, dwell 5–12 s, wander 3–6 s). */
    nextStep: ({ context }) => context.nextDelayMs,
  },
  guards: {
    nextStopIsDepartment: ({ context }) => context.stops[0]?.kind === 'department',
    nextStopIsWander: ({ context }) => context.stops[0]?.kind === 'wander',
    arrivesThisStep: ({ context }) => remaining(context.pos, context.waypoints) <= context.pace,
    lastMoveHere: ({ context }) => context.movesLeft <= 1,
  },
  actions: {
    publishEntry: emit(({ context }) => ({ type: 'publish' as const, kind: 'entry' as const, x: context.pos.x, y: context.pos.y })),
    publishMove: emit(({ context }) => ({ type: 'publish' as const, kind: 'move' as const, x: context.pos.x, y: context.pos.y })),
    publishExit: emit(({ context }) => ({ type: 'publish' as const, kind: 'exit' as const, x: context.pos.x, y: context.pos.y })),
    waitToEnter: assign({ nextDelayMs: ({ context }) => DELAYS.enter(context.rng) }),
    /** Plans the walk to the next department: along the ring to its door, then to a spot inside. */
    planWalkToDepartment: assign(({ context }) => {
      const stop = context.stops[0] as Extract<Stop, { kind: 'department' }>;
      const spot = spotIn(stop.dep, context.rng);
      return {
        waypoints: legVia(context.ringS, DOORS[stop.dep], [spot]),
        spot, department: stop.dep, movesLeft: stop.moves,
        nextDelayMs: DELAYS.walk(context.rng),
      };
    }),
    planWalkToExit: assign(({ context }) => ({
      waypoints: legVia(context.ringS, EXIT_S_PARAM, [STORE_PLAN.exit]),
      spot: undefined, department: undefined, nextDelayMs: DELAYS.walk(context.rng),
    })),
    walkStep: assign(({ context }) => {
      const next = advance(context.pos, context.waypoints, context.pace);
      return { pos: round(next.pos), waypoints: next.waypoints, moves: context.moves + 1, nextDelayMs: DELAYS.walk(context.rng) };
    }),
    /** Arrived at the spot: the moves there come at dwell pace; the ring is rejoined at the door. */
    startDwell: assign(({ context }) => ({
      ringS: DOORS[context.department!], nextDelayMs: DELAYS.dwell(context.rng),
    })),
    dwellStep: assign(({ context }) => ({
      pos: jitterInside(context.spot!, STORE_PLAN.departments[context.department!], context.rng),
      movesLeft: context.movesLeft - 1, moves: context.moves + 1, nextDelayMs: DELAYS.dwell(context.rng),
    })),
    finishStop: assign(({ context }) => ({ stops: context.stops.slice(1) })),
    startWander: assign(({ context }) => ({
      movesLeft: (context.stops[0] as Extract<Stop, { kind: 'wander' }>).moves,
      wanderDir: (context.rng.chance(0.5) ? 1 : -1) as 1 | -1,
      nextDelayMs: DELAYS.wander(context.rng),
    })),
    /** The first wander move rejoins the ring (the door, or where the entrance meets the aisle). */
    wanderStep: assign(({ context }) => {
      const w = wanderStep(context.ringS, context.wanderDir, context.rng);
      return {
        pos: w.pos, ringS: w.s, wanderDir: w.dir, department: undefined, spot: undefined,
        movesLeft: context.movesLeft - 1, moves: context.moves + 1, nextDelayMs: DELAYS.wander(context.rng),
      };
    }),
  },
}).createMachine({
  id: 'customer',
  description: 'A simulated shopper visiting the store, one move per step on the actor clock',
  context: ({ input }) => ({
    customerId: input.profile.customerId,
    rng: input.rng,
    pace: paceOf(input.profile, input.rng),
    pos: { ...STORE_PLAN.entrance },
    stops: planRoute(input.profile, input.rng, input.warm),
    waypoints: [],
    ringS: ENTRANCE_LEG_START,
    department: undefined,
    spot: undefined,
    movesLeft: 0,
    wanderDir: 1,
    nextDelayMs: 0,
    moves: 0,
  }),
  initial: 'entering',
  states: {
    entering: {
      description: 'At the entrance: the entry is published, then the shopper heads in',
      entry: ['publishEntry', 'waitToEnter'],
      after: { nextStep: { target: 'choosing' } },
    },
    choosing: {
      description: 'Picks the next stop of the route: a department, a wander, or the exit when none is left',
      always: [
        { guard: 'nextStopIsDepartment', target: 'walking', actions: 'planWalkToDepartment' },
        { guard: 'nextStopIsWander', target: 'browsing', actions: 'startWander' },
        { target: 'leaving', actions: 'planWalkToExit' },
      ],
    },
    walking: {
      description: 'Walks along the aisles to the department, one move per step, then into it',
      after: {
        nextStep: [
          { guard: 'arrivesThisStep', target: 'dwelling', actions: ['walkStep', 'publishMove', 'startDwell'] },
          { target: 'walking', reenter: true, actions: ['walkStep', 'publishMove'] },
        ],
      },
    },
    dwelling: {
      description: 'Looks at the goods: several moves at nearly the same spot inside the department (a focus)',
      after: {
        nextStep: [
          { guard: 'lastMoveHere', target: 'choosing', actions: ['dwellStep', 'publishMove', 'finishStop'] },
          { target: 'dwelling', reenter: true, actions: ['dwellStep', 'publishMove'] },
        ],
      },
    },
    browsing: {
      description: 'Wanders in the aisles, outside every department (a browsing walk)',
      after: {
        nextStep: [
          { guard: 'lastMoveHere', target: 'choosing', actions: ['wanderStep', 'publishMove', 'finishStop'] },
          { target: 'browsing', reenter: true, actions: ['wanderStep', 'publishMove'] },
        ],
      },
    },
    leaving: {
      description: 'Walks to the exit; the exit is published on arrival',
      after: {
        nextStep: [
          { guard: 'arrivesThisStep', target: 'left', actions: ['walkStep', 'publishMove', 'publishExit'] },
          { target: 'leaving', reenter: true, actions: ['walkStep', 'publishMove'] },
        ],
      },
    },
    left: {
      description: 'Out of the store: the visit is over',
      type: 'final',
    },
  },
  output: ({ context }) => ({ customerId: context.customerId, moves: context.moves }),
});
