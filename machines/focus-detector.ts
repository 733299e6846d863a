/**
 * Focus detection for one customer in the store (REFERENCE.md §4). The customer's footsteps
 * (actors/detector/footsteps.ts) tell it the moves that matter: a move into another zone (a
 * department, or the aisles) and the move with which the customer has stayed in their zone long enough
 * (FOCUS_MIN_MOVES in one department; BROWSING_MIN_MOVES lingering in the aisles). Staying long enough
 * in a department is one focus, in the aisles one browsing, announced once per dwell or walk. Entry
 * forgets the zone; exit, or SESSION_IDLE_TIMEOUT of event time, ends the actor.
 * Pure: time is the events' own `ts`; outputs are emitted (`focus`, `browsing`) for the adapter.
 */
import { setup, assign, enqueueActions } from 'xstate';
import type { Department } from '../schemas/departments.ts';
import { must } from '../actors/kernel/must.ts';
import type { Footstep } from '../actors/detector/footsteps.ts';

/**
 * Raised when the code of a guard or an action, or of the footsteps it is told by (actors/detector/footsteps.ts: what a
 * walk holds), changes what a detector's state means: snapshots name it with the hash of
 * machines/json/focus-detector.json, and one of another version is ignored (docs/snapshots.md).
 */
export const FOCUS_DETECTOR_CODE_VERSION = 1;

export type DetectorEvent =
  /** The customer moved into a department (`dep`) or into the aisles (`dep` undefined). */
  | { type: 'zone'; dep: Department | undefined; move: Footstep }
  /** With this move the customer has stayed in their zone long enough (said once per zone). */
  | { type: 'lingered'; move: Footstep }
  | { type: 'entry'; ts: number }
  | { type: 'exit'; ts: number }
  /** Event time has advanced to `ts`; sent to those quiet for the idle timeout by all their moves. */
  | { type: 'tick'; ts: number };

export type DetectorEmitted =
  | { type: 'focus'; customerId: string; ts: number; dep: Department; x: number; y: number; inputId: string }
  | { type: 'browsing'; customerId: string; ts: number; x: number; y: number; inputId: string };

export interface DetectorInput {
  customerId: string;
  idleTimeoutS: number;
}

export interface DetectorContext extends DetectorInput {
  /** Department of the current dwell; undefined in the aisles (or before any move). */
  dep: Department | undefined;
  /** The newest event time the actor heard (footsteps hear every move; the host ticks by those). */
  lastTs: number;
  endReason: 'exit' | 'idle' | undefined;
}

const eventTs = (e: DetectorEvent) => (e.type === 'zone' || e.type === 'lingered' ? e.move.ts : e.ts);

export const focusDetectorMachine = setup({
  types: {
    context: {} as DetectorContext,
    events: {} as DetectorEvent,
    input: {} as DetectorInput,
    emitted: {} as DetectorEmitted,
    output: {} as { customerId: string; reason: 'exit' | 'idle' },
  },
  actions: {
    touch: assign({ lastTs: ({ context, event }) => Math.max(context.lastTs, eventTs(event)) }),
    /** Into a department or the aisles (one assign: the zone and the time). */
    enterZone: assign(({ context, event }) => ({
      dep: event.type === 'zone' ? event.dep : undefined,
      lastTs: Math.max(context.lastTs, eventTs(event)),
    })),
    forgetZone: assign({ dep: undefined }),
    /** The move that completed the dwell gives the focus its time and position. */
    announceFocus: enqueueActions(({ context, event, enqueue }) => {
      const m = (event as Extract<DetectorEvent, { type: 'lingered' }>).move;
      enqueue.emit({
        type: 'focus',
        customerId: context.customerId,
        ts: m.ts,
        dep: must(context.dep, 'the focused department'),
        x: m.x,
        y: m.y,
        inputId: m.inputId,
      });
      enqueue.assign({ lastTs: Math.max(context.lastTs, m.ts) });
    }),
    announceBrowsing: enqueueActions(({ context, event, enqueue }) => {
      const m = (event as Extract<DetectorEvent, { type: 'lingered' }>).move;
      enqueue.emit({ type: 'browsing', customerId: context.customerId, ts: m.ts, x: m.x, y: m.y, inputId: m.inputId });
      enqueue.assign({ lastTs: Math.max(context.lastTs, m.ts) });
    }),
    recordEnd: assign({ endReason: (_, reason: 'exit' | 'idle') => reason }),
  },
  guards: {
    intoDepartment: ({ event }) => event.type === 'zone' && event.dep !== undefined,
    idleTooLong: ({ context, event }) => event.type === 'tick' && event.ts - context.lastTs >= context.idleTimeoutS,
  },
}).createMachine({
  id: 'focusDetector',
  description: 'Where one customer is in the store: dwelling in a department (→ one focus), or walking the aisles (→ one browsing)',
  context: ({ input }) => ({ customerId: input.customerId, idleTimeoutS: input.idleTimeoutS, dep: undefined, lastTs: 0, endReason: undefined }),
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
        zone: [
          { guard: 'intoDepartment', target: 'dwelling', actions: 'enterZone' },
          { target: 'walking', actions: 'enterZone' },
        ],
      },
    },
    dwelling: {
      description: 'Moving inside one department; staying FOCUS_MIN_MOVES moves there is announced as one focus',
      on: {
        entry: { target: 'arrived', actions: ['touch', 'forgetZone'] },
        lingered: { actions: 'announceFocus' },
        zone: [
          { guard: 'intoDepartment', target: 'dwelling', reenter: true, actions: 'enterZone' },
          { target: 'walking', actions: 'enterZone' },
        ],
      },
    },
    walking: {
      description: 'Moving outside every department; BROWSING_MIN_MOVES of them within BROWSING_RADIUS of the last are announced as one browsing',
      on: {
        entry: { target: 'arrived', actions: ['touch', 'forgetZone'] },
        lingered: { actions: 'announceBrowsing' },
        zone: { guard: 'intoDepartment', target: 'dwelling', actions: 'enterZone' },
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
