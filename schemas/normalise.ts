/**
 * Turns any accepted input (flat or envelope, ids as strings or numbers, ts in s or ms, ISO times)
 * into one StoreEvent, with compiled validators for the hot path. Never throws.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { EntryEvent, MoveEvent, FocusEvent, BrowsingEvent, RedemptionEvent, Envelope, ENVELOPE_TYPES, MAX_TIMESTAMP_MS } from './messages.ts';
import { canonicalDepartment, departmentById, type Department } from './departments.ts';
import type { EventKind, StoreEvent } from './events.ts';

export type RejectCode = 'too_large' | 'invalid_json' | 'schema' | 'unknown_department' | 'unknown_kind' | 'unstorable';
export type Normalised = { ok: true; event: StoreEvent } | { ok: false; code: RejectCode; reason: string };

const checks = {
  entry: TypeCompiler.Compile(EntryEvent),
  exit: TypeCompiler.Compile(EntryEvent),
  move: TypeCompiler.Compile(MoveEvent),
  focus: TypeCompiler.Compile(FocusEvent),
  browsing: TypeCompiler.Compile(BrowsingEvent),
  redemption: TypeCompiler.Compile(RedemptionEvent),
  envelope: TypeCompiler.Compile(Envelope),
};

/** Seconds as an integer; values above 2e10 are milliseconds. */
export function toSeconds(ts: number): number {
  return Math.floor(ts > 2e10 ? ts / 1000 : ts);
}

/** ISO-8601 to epoch seconds; no offset means UTC. NaN when unreadable. */
export function isoToSeconds(iso: string): number {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso.trim());
  const ms = Date.parse(hasZone ? iso : `${iso.trim()}Z`);
  return Number.isNaN(ms) ? NaN : Math.floor(ms / 1000);
}

function firstError(check: { Errors(v: unknown): Iterable<{ path: string; message: string }> }, value: unknown): string {
  for (const e of check.Errors(value)) return `${e.path || '/'}: ${e.message}`;
  return 'invalid';
}

const reject = (code: RejectCode, reason: string): Normalised => ({ ok: false, code, reason });

/**
 * Normalise one message. `kind` is what the topic or endpoint implies for the flat format;
 * an envelope carries its own event_type, which wins (both formats work on any input topic).
 */
export function normalise(input: string | Uint8Array | unknown, kind?: EventKind, maxBytes = 65536): Normalised {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
    if (size > maxBytes) return reject('too_large', `payload of ${size} bytes exceeds MAX_PAYLOAD_BYTES (${maxBytes})`);
    try {
      value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'));
    } catch (err) {
      return reject('invalid_json', `invalid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return reject('schema', 'expected a JSON object');
  if ('event_type' in value || 'payload' in value) return fromEnvelope(value, kind);
  if (!kind) return reject('unknown_kind', 'a flat event needs its topic to say what it is');
  return fromFlat(value as Record<string, unknown>, kind);
}

function fromFlat(v: Record<string, unknown>, kind: EventKind): Normalised {
  const check = checks[kind] as TypeCheck<TSchema>;
  if (!check.Check(v)) return reject('schema', `${kind} event ${firstError(check, v)}`);
  const id = String(v.id);
  const ts = toSeconds(v.ts as number);
  switch (kind) {
    case 'entry':
    case 'exit':
      return { ok: true, event: { kind, id, ts } };
    case 'move':
      return { ok: true, event: { kind, id, ts, x: Math.round(v.x as number), y: Math.round(v.y as number) } };
    case 'focus': {
      const dep = canonicalDepartment(v.dep as string);
      if (!dep) return reject('unknown_department', `unknown department ${JSON.stringify(v.dep)}`);
      const event: StoreEvent = { kind, id, ts, dep };
      if (typeof v.x === 'number' && typeof v.y === 'number') Object.assign(event, { x: Math.round(v.x), y: Math.round(v.y) });
      return { ok: true, event };
    }
    case 'browsing': {
      const event: StoreEvent = { kind, id, ts, x: Math.round(v.x as number), y: Math.round(v.y as number) };
      if (typeof v.dep === 'string') {
        const dep = canonicalDepartment(v.dep);
        if (!dep) return reject('unknown_department', `unknown department ${JSON.stringify(v.dep)}`);
        event.dep = dep;
      }
      return { ok: true, event };
    }
    case 'redemption':
      return { ok: true, event: { kind, id, ts, couponId: v.coupon_id as number, amount: v.amount as number } };
  }
}

function fromEnvelope(v: object, hint?: EventKind): Normalised {
  if (!checks.envelope.Check(v)) return reject('schema', `envelope ${firstError(checks.envelope, v)}`);
  const env = v as { event_type: keyof typeof ENVELOPE_TYPES; event_timestamp: string; payload: Record<string, unknown> };
  const kind = ENVELOPE_TYPES[env.event_type];
  void hint; // an envelope names its own kind, so it is accepted on any input topic
  const ts = isoToSeconds(env.event_timestamp);
  if (Number.isNaN(ts)) return reject('schema', `envelope /event_timestamp: not an ISO-8601 time: ${JSON.stringify(env.event_timestamp)}`);
  if (ts < 0 || ts * 1000 > MAX_TIMESTAMP_MS) return reject('schema', `envelope /event_timestamp: ${JSON.stringify(env.event_timestamp)} is outside 1970–9999`);
  const p = env.payload;
  const id = String(p.customer_id);
  const x = typeof p.x === 'number' ? Math.round(p.x) : undefined;
  const y = typeof p.y === 'number' ? Math.round(p.y) : undefined;
  let dep: Department | undefined;
  if (p.category !== undefined) {
    dep = canonicalDepartment(p.category as string);
    if (!dep) return reject('unknown_department', `unknown department ${JSON.stringify(p.category)}`);
  } else if (p.department_id !== undefined) dep = departmentById(p.department_id as number);
  switch (kind) {
    case 'entry':
    case 'exit':
      return { ok: true, event: { kind, id, ts } };
    case 'move':
    case 'browsing':
      if (x === undefined || y === undefined) return reject('schema', `envelope /payload: a ${kind} event needs x and y`);
      return { ok: true, event: kind === 'move' ? { kind, id, ts, x, y } : dep ? { kind, id, ts, x, y, dep } : { kind, id, ts, x, y } };
    case 'focus':
      if (!dep) return reject('schema', 'envelope /payload: a focus event needs category or department_id');
      return { ok: true, event: x !== undefined && y !== undefined ? { kind, id, ts, dep, x, y } : { kind, id, ts, dep } };
  }
}

/** A compiled checker for any schema, with its first error as text. */
export function compile<T extends TSchema>(schema: T) {
  const c = TypeCompiler.Compile(schema);
  return { check: (v: unknown) => c.Check(v), error: (v: unknown) => firstError(c, v) };
}
