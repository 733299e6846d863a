/**
 * Focus detection for one customer in the store (REFERENCE.md §4). Each move's position is mapped to
 * a department with the store plan; FOCUS_MIN_MOVES consecutive moves in the same department are a
 * focus (announced once per dwell), BROWSING_MIN_MOVES consecutive moves outside every department, each
 * within BROWSING_RADIUS of the last of them, are a browsing: someone lingering in one stretch of aisle,
 * not walking between departments (announced once per walk; radius 0 = any moves outside, the rule
 * before the radius). Exit, or SESSION_IDLE_TIMEOUT of event time, ends the actor.
 * Pure: time is the moves' own `ts`; outputs are emitted (`focus`, `browsing`) for the adapter.
 */
import { setup, assign, enqueueActions } from 'xstate';
import { departmentAt, distance, type Point } from '../actors/data/store-plan.ts';
import type { Department } from '../schemas/departments.ts';

export interface Move {
  type: 'move';
  ts: number;
  x: number;
  y: number;
  inputId: string;
}

export type DetectorEvent =
  | Move
  | { type: 'entry'; ts: number }
  | { type: 'exit'; ts: number }
  /** Event time has advanced to `ts` (sent to every actor; ends forgotten ones). */
  | { type: 'tick'; ts: number };

export type DetectorEmitted =
  | { type: 'focus'; customerId: string; ts: number; dep: Department; x: number; y: number; inputId: string }
  | { type: 'browsing'; customerId: string; ts: number; x: number; y: number; inputId: string };

export interface DetectorInput {
  customerId: string;
  focusMinMoves: number;
  browsingMinMoves: number;
  /** Plan units; 0 or absent: any BROWSING_MIN_MOVES consecutive moves outside count (logs recorded before the setting). */
  browsingRadius?: number;
  idleTimeoutS: number;
  ts?: number;
}

export interface DetectorContext extends Omit<DetectorInput, 'ts' | 'browsingRadius'> {
  browsingRadius: number;
  /** The latest moves of the current walk in the aisles (at most BROWSING_MIN_MOVES), oldest first. */
  trail: Point[];
  /** Department of the current dwell; undefined in the aisles. */
  dep: Department | undefined;
  /** Consecutive moves in the current zone (this department, or the aisles). */
  moves: number;
  /** The current dwell or walk has been announced. */
  announced: boolean;
  lastMove: Move | undefined;
  lastTs: number;
  endReason: 'exit' | 'idle' | undefined;
}

const moveTs = (e: DetectorEvent, fallback: number) => ('ts' in e ? Math.max(fallback, e.ts) : fallback);
/** The walk's trail with this move, the oldest dropped beyond `keep`. */
const extend = (trail: Point[], m: Move, keep: number): Point[] => [...trail.slice(Math.max(0, trail.length - keep + 1)), { x: m.x, y: m.y }];
/** Every one of the last `n` points is within `radius` of the last (radius ≤ 0: no limit). */
const lingering = (trail: Point[], n: number, radius: number) => {
  if (radius <= 0) return true;
  const last = trail[trail.length - 1];
  return trail.length >= n && trail.slice(-n).every((p) => distance(p, last) <= radius);
};

export const focusDetectorMachine = setup({
  types: {
    context: {} as DetectorContext,
    events: {} as DetectorEvent,
    input: {} as DetectorInput,
    emitted: {} as DetectorEmitted,
    output: {} as { customerId: string; reason: 'exit' | 'idle' },
  },
  actions: {
    touch: assign({ lastTs: ({ context, event }) => moveTs(event, context.lastTs) }),
    // the move actions also advance event time (what `touch` does): one assign per move, not two
    /** First move in a department (or into another one): a new dwell. */
    startDwell: assign(({ context, event }) => {
      const m = event as Move;
      return { dep: departmentAt(m), moves: 1, announced: false, lastMove: m, trail: [], lastTs: moveTs(event, context.lastTs) };
    }),
    /** First move in the aisles: a new walk. */
    startWalk: assign(({ context, event }) => ({
      dep: undefined,
      moves: 1,
      announced: false,
      lastMove: event as Move,
      lastTs: moveTs(event, context.lastTs),
      trail: context.browsingRadius > 0 ? extend([], event as Move, context.browsingMinMoves) : context.trail,
    })),
    countMove: assign(({ context, event }) => ({ moves: context.moves + 1, lastMove: event as Move, lastTs: moveTs(event, context.lastTs) })),
    /** A move of the walk: counted, and kept in the trail the radius is checked on. */
    countWalk: assign(({ context, event }) => ({
      moves: context.moves + 1,
      lastMove: event as Move,
      lastTs: moveTs(event, context.lastTs),
      trail: context.browsingRadius > 0 ? extend(context.trail, event as Move, context.browsingMinMoves) : context.trail,
    })),
    forgetZone: assign({ dep: undefined, moves: 0, announced: false, lastMove: undefined, trail: [] }),
    /** The move that completed the dwell gives the focus its time and position. */
    announceFocus: enqueueActions(({ context, enqueue }) => {
      const m = context.lastMove!;
      enqueue.emit({ type: 'focus', customerId: context.customerId, ts: m.ts, dep: context.dep!, x: m.x, y: m.y, inputId: m.inputId });
      enqueue.assign({ announced: true });
    }),
    announceBrowsing: enqueueActions(({ context, enqueue }) => {
      const m = context.lastMove!;
      enqueue.emit({ type: 'browsing', customerId: context.customerId, ts: m.ts, x: m.x, y: m.y, inputId: m.inputId });
      enqueue.assign({ announced: true });
    }),
    recordEnd: assign({ endReason: (_, reason: 'exit' | 'idle') => reason }),
  },
  guards: {
    /** A move older than the newest one seen (a late redelivery) says nothing about where the customer is now. */
    staleMove: ({ context, event }) => event.type === 'move' && event.ts < context.lastTs,
    inDepartment: ({ event }) => event.type === 'move' && departmentAt(event) !== undefined,
    inSameDepartment: ({ context, event }) => event.type === 'move' && context.dep !== undefined && departmentAt(event) === context.dep,
    inAisle: ({ event }) => event.type === 'move' && departmentAt(event) === undefined,
    focusDue: ({ context }) => !context.announced && context.dep !== undefined && context.moves >= context.focusMinMoves,
    /** Enough moves outside every department, and the last of them close together (lingering, not walking past). */
    browsingDue: ({ context }) =>
      !context.announced &&
      context.dep === undefined &&
      context.moves >= context.browsingMinMoves &&
      lingering(context.trail, context.browsingMinMoves, context.browsingRadius),
    idleTooLong: ({ context, event }) => event.type === 'tick' && event.ts - context.lastTs >= context.idleTimeoutS,
  },
}).createMachine({
  id: 'focusDetector',
  description: 'Where one customer is in the store: dwelling in a department (→ one focus), or walking the aisles (→ one browsing)',
  context: ({ input }) => ({
    customerId: input.customerId,
    focusMinMoves: input.focusMinMoves,
    browsingMinMoves: input.browsingMinMoves,
    browsingRadius: input.browsingRadius ?? 0,
    trail: [],
    idleTimeoutS: input.idleTimeoutS,
    dep: undefined,
    moves: 0,
    announced: false,
    lastMove: undefined,
    lastTs: input.ts ?? 0,
    endReason: undefined,
  }),
  initial: 'arrived',
  on: {
    exit: { target: '.left', actions: ['touch', { type: 'recordEnd', params: 'exit' }] },
    tick: { guard: 'idleTooLong', target: '.forgotten', actions: { type: 'recordEnd', params: 'idle' } },
  },
  states: {
    arrived: {
      description: 'In the store, no position yet (just entered)',
      on: {
        entry: { actions: 'touch' },
        move: [{ guard: 'staleMove' }, { guard: 'inDepartment', target: 'dwelling', actions: 'startDwell' }, { target: 'walking', actions: 'startWalk' }],
      },
    },
    dwelling: {
      description: 'Consecutive moves inside one department; FOCUS_MIN_MOVES of them are announced as one focus',
      always: { guard: 'focusDue', actions: 'announceFocus' },
      on: {
        entry: { target: 'arrived', actions: ['touch', 'forgetZone'] },
        move: [
          { guard: 'staleMove' },
          { guard: 'inSameDepartment', actions: 'countMove' },
          { guard: 'inDepartment', target: 'dwelling', reenter: true, actions: 'startDwell' },
          { target: 'walking', actions: 'startWalk' },
        ],
      },
    },
    walking: {
      description: 'Consecutive moves outside every department; BROWSING_MIN_MOVES of them within BROWSING_RADIUS of the last are announced as one browsing',
      always: { guard: 'browsingDue', actions: 'announceBrowsing' },
      on: {
        entry: { target: 'arrived', actions: ['touch', 'forgetZone'] },
        move: [{ guard: 'staleMove' }, { guard: 'inDepartment', target: 'dwelling', actions: 'startDwell' }, { guard: 'inAisle', actions: 'countWalk' }],
      },
    },
    left: {
      description: 'The customer exited',
      type: 'final',
    },
    forgotten: {
      description: 'No event for SESSION_IDLE_TIMEOUT of event time (a lost exit)',
      type: 'final',
    },
  },
  output: ({ context }) => ({ customerId: context.customerId, reason: context.endReason ?? 'exit' }),
});
