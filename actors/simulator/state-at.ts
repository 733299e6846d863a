/**
 * The original scenario player's `GET /state?timestamp=…` (seed 001's later player): a list of
 * customer states, `[{"customer_description": {"customer_id"}, "location": {"x", "y"}, "status":
 * "ENTER"|"MOVE"|"EXIT", "timestamp": "…+00:00"}]`. There it listed the timeline's steps due by the
 * timestamp and, by a bug, took them off the timeline. Here nothing is taken: each customer in the
 * store (where it was last published) moved on by its steps still on the timeline and due at or
 * before the timestamp, one state per customer; a customer whose last step by then is its exit is
 * listed with status EXIT. The simulator keeps no history: a timestamp in the past gives the
 * customers where they are now (the event log has the history).
 */
import type { TimelineEvent } from './timeline.ts';
import { timestampMs } from './scenario.ts';

export type CustomerStatus = 'ENTER' | 'MOVE' | 'EXIT';

export interface CustomerState {
  customer_description: { customer_id: string };
  location: { x: number; y: number };
  status: CustomerStatus;
  timestamp: string;
}

/** Where a customer inside was last published: its position and that time (ms). */
export interface KnownPosition {
  id: string;
  x: number;
  y: number;
  at: number;
}

const STATUS = { entry: 'ENTER', move: 'MOVE', exit: 'EXIT' } as const;

/** A UTC time as Python's `datetime.isoformat()` writes it (the original's answer): `…T10:00:00+00:00`, microseconds when not whole. */
export function pythonIso(ms: number): string {
  const iso = new Date(ms).toISOString();
  const frac = ms % 1000;
  return `${iso.slice(0, 19)}${frac ? `.${String(frac).padStart(3, '0')}000` : ''}+00:00`;
}

/** The query's timestamp: ISO-8601 (no offset = UTC; an unencoded `+` arrives as a space) or epoch s or ms. */
export function stateTimestamp(raw: string): number | undefined {
  const text = raw.trim().replace(/ (\d{2}:?\d{2})$/, '+$1');
  return timestampMs(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text);
}

/** Each customer's state at `atMs`: its known position, moved on by its pending steps due by then (in time order). */
export function stateAt(known: readonly KnownPosition[], pending: readonly TimelineEvent[], atMs: number): CustomerState[] {
  const states = new Map<string, CustomerState>();
  for (const k of known)
    states.set(k.id, { customer_description: { customer_id: k.id }, location: { x: k.x, y: k.y }, status: 'MOVE', timestamp: pythonIso(k.at) });
  for (const e of pending) {
    if (e.at > atMs) continue;
    // entry and exit carry no position on the wire; the timeline knows where they happen
    states.set(e.id, { customer_description: { customer_id: e.id }, location: { x: e.x, y: e.y }, status: STATUS[e.kind], timestamp: pythonIso(e.at) });
  }
  return [...states.values()].sort((a, b) => a.customer_description.customer_id.localeCompare(b.customer_description.customer_id, 'en', { numeric: true }));
}
