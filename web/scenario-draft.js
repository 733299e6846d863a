// A path drawn on the plan as the simulator's scenario draft (POST /simulator/scenario_draft,
// REFERENCE §5): move steps and focus stops, no timestamps. Pure: the editor and the Node tests use it.
import { placeName } from './words.js';

/** The draft's timing, as the simulator plays it (actors/simulator/scenario.ts DRAFT): for the editor's estimate. */
export const DRAFT_TIMING = { startDelayMs: 10_000, msPerUnit: 30, focusMoves: 5, focusGapMs: 7_500 };

/** A click on the plan as a step: whole units, inside the plan. */
export function stepAt(plan, x, y, focus) {
  const clamp = (v, max) => Math.min(max, Math.max(0, Math.round(v)));
  return { type: focus ? 'focus' : 'move', x: clamp(x, plan.width), y: clamp(y, plan.height) };
}

/** The request body of POST /simulator/scenario_draft. */
export function draftBody(customer, steps) {
  return { customer: { customer_id: String(customer) }, path: steps.map((s) => ({ type: s.type, location: { x: s.x, y: s.y } })) };
}

/** The moves the simulator will publish for these steps (a focus stop adds DRAFT_TIMING.focusMoves at the same spot). */
export function expectedMoves(steps) {
  return steps.flatMap((s) => Array.from({ length: s.type === 'focus' ? DRAFT_TIMING.focusMoves + 1 : 1 }, () => ({ x: s.x, y: s.y })));
}

/** How long the walk takes in store time (ms), from the start of the first step. */
export function walkMs(steps) {
  let ms = 0;
  steps.forEach((s, i) => {
    if (i > 0) ms += Math.round(Math.hypot(s.x - steps[i - 1].x, s.y - steps[i - 1].y) * DRAFT_TIMING.msPerUnit);
    if (s.type === 'focus') ms += DRAFT_TIMING.focusMoves * DRAFT_TIMING.focusGapMs;
  });
  return ms;
}

/** A step in words: "move · by the entrance", "focus stop · Men". */
export const stepWords = (plan, s) => `${s.type === 'focus' ? 'focus stop' : 'move'} · ${placeName(plan, s.x, s.y)}`;
