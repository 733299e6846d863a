/**
 * Routing keys of the event-stream gateway: which events of the log a stream carries.
 *
 * Grammar (AMQP topic style, which is also MQTT's with `.` for `/`):
 *   key     = segment *( "." segment )          at most 255 characters, at most 16 segments
 *   segment = 1*( ALPHA / DIGIT / "_" / "-" / ":" ) | "*" | "#"
 *   `*` matches exactly one segment, `#` matches zero or more segments.
 *
 * Every event is reachable by several addresses, and a key selects the event when it matches any:
 *   <type>                        prediction, entry, move, exit, focus, browsing, rejected, ...
 *   <type>.<customer>             prediction.127
 *   customer.<customer>           every event of customer 127
 *   customer.<customer>.<type>    customer.127.focus
 *   <AMQP routing key>            events that came from RabbitMQ, under the key they were published with
 * So `prediction` = every prediction, `customer.127` = everything about customer 127, `customer.*` =
 * every customer event, `#` = the whole log.
 */

export const MAX_KEY_LENGTH = 255;
export const MAX_SEGMENTS = 16;
const SEGMENT = /^[A-Za-z0-9_:-]+$/;

export type KeyCheck = { ok: true; segments: string[] } | { ok: false; reason: string };

export function parseRoutingKey(key: unknown): KeyCheck {
  if (typeof key !== 'string') return { ok: false, reason: 'routing_key must be a string' };
  if (key.length === 0) return { ok: false, reason: 'routing_key is empty' };
  if (key.length > MAX_KEY_LENGTH) return { ok: false, reason: `routing_key is longer than ${MAX_KEY_LENGTH} characters` };
  const segments = key.split('.');
  if (segments.length > MAX_SEGMENTS) return { ok: false, reason: `routing_key has more than ${MAX_SEGMENTS} segments` };
  for (const s of segments) {
    if (s === '*' || s === '#') continue;
    if (s === '') return { ok: false, reason: 'routing_key has an empty segment' };
    if (!SEGMENT.test(s)) return { ok: false, reason: `invalid segment "${s}": use letters, digits, _ - : or a whole-segment * or #` };
  }
  return { ok: true, segments };
}

/** A segment as an address part: ids with characters outside the grammar cannot be addressed. */
export function isSegment(s: string): boolean {
  return SEGMENT.test(s);
}

/** Does the pattern match this address (already split into segments)? */
export function matchSegments(pattern: readonly string[], address: readonly string[], p = 0, a = 0): boolean {
  for (;;) {
    if (p === pattern.length) return a === address.length;
    const seg = pattern[p];
    if (seg === '#') {
      if (p === pattern.length - 1) return true;
      for (let k = a; k <= address.length; k++) if (matchSegments(pattern, address, p + 1, k)) return true;
      return false;
    }
    if (a === address.length) return false;
    if (seg !== '*' && seg !== address[a]) return false;
    p++;
    a++;
  }
}

/** What the gateway knows about an event when it routes it (no need to parse its data). */
export interface RoutedEvent {
  type: string;
  /** The customer id, when the event is about a customer. */
  customer?: string | null;
  /** The RabbitMQ routing key it was published with, for AMQP events. */
  routingKey?: string | null;
}

export function eventAddresses(e: RoutedEvent): string[][] {
  const out: string[][] = [];
  const typeOk = isSegment(e.type);
  if (typeOk) out.push([e.type]);
  if (e.customer != null && isSegment(e.customer)) {
    out.push(['customer', e.customer]);
    if (typeOk) out.push([e.type, e.customer], ['customer', e.customer, e.type]);
  }
  if (e.routingKey) out.push(e.routingKey.split('.'));
  return out;
}

/** A compiled stream selector: one per stream, shared by all its clients. */
export function routingKeyMatcher(key: string): (e: RoutedEvent) => boolean {
  const check = parseRoutingKey(key);
  if (!check.ok) throw new Error(check.reason);
  const pattern = check.segments;
  if (pattern.length === 1 && pattern[0] === '#') return () => true;
  // the common exact kind (`prediction`) without building addresses
  if (pattern.length === 1 && pattern[0] !== '*') {
    const only = pattern[0];
    return (e) => e.type === only || e.routingKey === only;
  }
  return (e) => eventAddresses(e).some((a) => matchSegments(pattern, a));
}

/** The customer an event is about: its `customer-<id>` stream, else a prediction's customer_id. */
export function customerOf(streamId: string, data: unknown): string | undefined {
  if (streamId.startsWith('customer-')) return streamId.slice('customer-'.length);
  const id = (data as { customer_id?: unknown } | null)?.customer_id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/**
 * The one event type a key can select, so a replay can ask the database for that type alone (an
 * AMQP event published as `x` has type `x` too); undefined = any type.
 */
export function onlyType(key: string): string | undefined {
  const check = parseRoutingKey(key);
  if (!check.ok || check.segments.length !== 1) return undefined;
  const [s] = check.segments;
  return s === '*' || s === '#' ? undefined : s;
}
