/**
 * A machine's own config (`machine.config`, what was passed to createMachine) as plain JSON, the form
 * the Stately editor imports and createMachine() reads back: every state, `on`, `always`, `after`
 * (delays by name), `invoke` (actors by name, with onDone/onError), entry/exit actions, guards and
 * actions by name, static params, descriptions, final states.
 *
 * Functions are code, not structure. Those that only map data — `context`, `output`, an invoke's
 * `input`, and params computed from the event (`params: ({ event }) => event.output`) — are left out;
 * the action or guard they feed keeps its name. Any other function (an inline guard, action, delay
 * or actor) would vanish from the drawing, so it is refused with its path: name it in setup().
 */
import type { AnyStateMachine } from 'xstate';

/** Keys whose function values are data mappings (left out), not transitions, guards, actions, delays or actors. */
const DATA_MAPPINGS = new Set(['context', 'output', 'input', 'params']);

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function machineConfig(machine: AnyStateMachine): Json {
  return toJson(machine.config, machine.id, undefined) as Json;
}

function toJson(value: unknown, path: string, key: string | undefined): Json | undefined {
  if (typeof value === 'function') {
    if (key !== undefined && DATA_MAPPINGS.has(key)) return undefined;
    throw new Error(`${path}: an inline function (${describe(value)}) is not importable into Stately; give it a name in setup() and refer to it by that name`);
  }
  if (value === undefined) return undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path}: ${value} is not JSON`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => toJson(v, `${path}[${i}]`, key) ?? null);
  if (typeof value === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(value)) {
      const j = toJson(v, `${path}.${k}`, k);
      if (j !== undefined) out[k] = j;
    }
    return out;
  }
  throw new Error(`${path}: a ${typeof value} is not JSON`);
}

function describe(fn: { name: string }): string {
  const type = (fn as { type?: unknown }).type;
  return typeof type === 'string' ? type : fn.name ? `function ${fn.name}` : 'anonymous function';
}
