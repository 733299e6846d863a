/**
 * The scenario player's API (REFERENCE.md §5), as pure functions: a body in, timed events out, or
 * the list of everything wrong with it. Nothing here can stop the timeline: bad bodies are refused
 * whole, equal timestamps keep their order in the body, and steps are sorted by time.
 */
import { isoToSeconds } from '../../schemas/normalise.ts';
import { STORE_PLAN, distance, type Point } from '../data/store-plan.ts';
import type { TimelineKind } from './timeline.ts';

export interface ScenarioStep {
  kind: TimelineKind;
  at: number;
  x: number;
  y: number;
}
export interface ExpandedScenario {
  customerId: string;
  steps: ScenarioStep[];
}
export type ScenarioResult = { ok: true; scenario: ExpandedScenario } | { ok: false; problems: string[] };

const KINDS: Record<string, TimelineKind> = { ENTER: 'entry', MOVE: 'move', EXIT: 'exit' };

/** Draft timing (the original player's): start 10 s from now, distance × 0.03 s per step, focus = 5 more moves 7.5 s apart. */
export const DRAFT = { startDelayMs: 10_000, msPerUnit: 30, focusMoves: 5, focusGapMs: 7_500 };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function customerIdOf(body: Record<string, unknown>, problems: string[]): string {
  const c = body.customer;
  const id = isObject(c) ? c.customer_id : undefined;
  if ((typeof id === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(id)) || (typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) return String(id);
  problems.push('/customer/customer_id: required, a string (letters, digits, _ . : -) or a non-negative integer');
  return '';
}

function locationOf(step: Record<string, unknown>, where: string, problems: string[]): Point | undefined {
  const l = step.location;
  if (!isObject(l) || typeof l.x !== 'number' || typeof l.y !== 'number' || !Number.isFinite(l.x) || !Number.isFinite(l.y)) {
    problems.push(`${where}/location: required, {"x": number, "y": number}`);
    return undefined;
  }
  if (l.x < 0 || l.x > STORE_PLAN.width || l.y < 0 || l.y > STORE_PLAN.height) {
    problems.push(`${where}/location: (${l.x}, ${l.y}) is outside the store plan 0..${STORE_PLAN.width} × 0..${STORE_PLAN.height}`);
    return undefined;
  }
  return { x: Math.round(l.x), y: Math.round(l.y) };
}

function pathOf(body: Record<string, unknown>, problems: string[], max: number): Record<string, unknown>[] | undefined {
  const path = body.path;
  if (!Array.isArray(path)) {
    problems.push('/path: required, an array of steps');
    return undefined;
  }
  if (path.length === 0) {
    problems.push('/path: empty; a scenario needs at least one step');
    return undefined;
  }
  if (path.length > max) {
    problems.push(`/path: ${path.length} steps; at most ${max}`);
    return undefined;
  }
  return path.map((s, i) => {
    if (!isObject(s)) problems.push(`/path/${i}: expected an object`);
    return isObject(s) ? s : {};
  });
}

/** The latest time a Date can hold, in ms since the epoch (later ones make toISOString throw). */
export const MAX_TIME_MS = 8.64e15;

/** Epoch ms from a scenario timestamp: epoch s or ms (> 2e10), or ISO-8601 with an offset; within the Date range. */
export function timestampMs(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) {
    const ms = Math.round(v > 2e10 ? v : v * 1000);
    return ms <= MAX_TIME_MS ? ms : undefined;
  }
  if (typeof v === 'string' && v.length >= 10 && v.length <= 40) {
    const s = isoToSeconds(v);
    if (Number.isNaN(s)) return undefined;
    const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/i.test(v.trim()) ? v : `${v.trim()}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

/** POST /scenario: steps ENTER/MOVE/EXIT with timestamps; `recalculate` shifts the path so its first step is `nowMs`. */
export function expandScenario(body: unknown, nowMs: number, recalculate: boolean, maxSteps = 10_000): ScenarioResult {
  if (!isObject(body)) return { ok: false, problems: ['body: expected a JSON object {"customer": {...}, "path": [...]}'] };
  const problems: string[] = [];
  const customerId = customerIdOf(body, problems);
  const path = pathOf(body, problems, maxSteps) ?? [];
  const steps: (ScenarioStep & { i: number })[] = [];
  path.forEach((s, i) => {
    const where = `/path/${i}`;
    const kind = typeof s.type === 'string' ? KINDS[s.type.toUpperCase()] : undefined;
    if (!kind) problems.push(`${where}/type: unknown step type ${JSON.stringify(s.type ?? null)} (expected ENTER, MOVE or EXIT)`);
    const loc = locationOf(s, where, problems);
    const given = s.timestamp !== undefined && s.timestamp !== null;
    const at = given ? timestampMs(s.timestamp) : undefined;
    if (!given) problems.push(`${where}/timestamp: missing (epoch seconds or ms, or ISO-8601 with an offset)`);
    else if (at === undefined) problems.push(`${where}/timestamp: unreadable ${JSON.stringify(s.timestamp)} (epoch seconds or ms, or ISO-8601 with an offset)`);
    if (kind && loc && at !== undefined) steps.push({ kind, at, x: loc.x, y: loc.y, i });
  });
  if (problems.length) return { ok: false, problems };
  steps.sort((a, b) => a.at - b.at || a.i - b.i); // equal timestamps keep the body's order
  const shift = recalculate ? nowMs - steps[0].at : 0;
  for (const st of steps)
    if (st.at + shift > MAX_TIME_MS)
      problems.push(`/path/${st.i}/timestamp: ${JSON.stringify(path[st.i].timestamp)} is too far after the first step once recalculated to now`);
  if (problems.length) return { ok: false, problems };
  return { ok: true, scenario: { customerId, steps: steps.map(({ kind, at, x, y }) => ({ kind, at: at + shift, x, y })) } };
}

/** POST /scenario_draft: steps move/focus without timestamps, timed like the original player (moves only). */
export function expandDraft(body: unknown, nowMs: number, maxSteps = 10_000): ScenarioResult {
  if (!isObject(body)) return { ok: false, problems: ['body: expected a JSON object {"customer": {...}, "path": [...]}'] };
  const problems: string[] = [];
  const customerId = customerIdOf(body, problems);
  const path = pathOf(body, problems, maxSteps) ?? [];
  const parsed: { focus: boolean; loc: Point }[] = [];
  path.forEach((s, i) => {
    const where = `/path/${i}`;
    const type = typeof s.type === 'string' ? s.type.toLowerCase() : undefined;
    if (type !== 'move' && type !== 'focus') problems.push(`${where}/type: unknown step type ${JSON.stringify(s.type ?? null)} (expected move or focus)`);
    const loc = locationOf(s, where, problems);
    if (loc && (type === 'move' || type === 'focus')) parsed.push({ focus: type === 'focus', loc });
  });
  if (problems.length) return { ok: false, problems };
  const steps: ScenarioStep[] = [];
  let at = nowMs + DRAFT.startDelayMs;
  let prev: Point | undefined;
  for (const { focus, loc } of parsed) {
    if (prev) at += Math.round(distance(prev, loc) * DRAFT.msPerUnit);
    steps.push({ kind: 'move', at, x: loc.x, y: loc.y });
    if (focus)
      for (let k = 0; k < DRAFT.focusMoves; k++) {
        at += DRAFT.focusGapMs;
        steps.push({ kind: 'move', at, x: loc.x, y: loc.y });
      }
    prev = loc;
  }
  return { ok: true, scenario: { customerId, steps } };
}
