/** The internal event type every input format is normalised to, and its flat (seed) rendering. */
import { canonicalDepartment, type Department } from './departments.ts';

export type EventKind = 'entry' | 'exit' | 'move' | 'focus' | 'browsing' | 'redemption';
export const EVENT_KINDS: readonly EventKind[] = ['entry', 'exit', 'move', 'focus', 'browsing', 'redemption'];

export type StoreEvent =
  | { kind: 'entry'; id: string; ts: number }
  | { kind: 'exit'; id: string; ts: number }
  | { kind: 'move'; id: string; ts: number; x: number; y: number }
  | { kind: 'focus'; id: string; ts: number; dep: Department; x?: number; y?: number }
  | { kind: 'browsing'; id: string; ts: number; x: number; y: number; dep?: Department }
  /** A shopper used an offered coupon (simulator output): `ts` is the offer's, `amount` what the shopper paid. */
  | { kind: 'redemption'; id: string; ts: number; couponId: number; amount: number };

/** The seed payload of an event: `{id, ts, ...}` without the kind (the topic carries it). */
export function toFlat(e: StoreEvent): Record<string, unknown> {
  switch (e.kind) {
    case 'entry':
    case 'exit':
      return { id: e.id, ts: e.ts };
    case 'move':
      return { id: e.id, ts: e.ts, x: e.x, y: e.y };
    case 'focus':
      return e.x === undefined || e.y === undefined ? { id: e.id, ts: e.ts, dep: e.dep } : { id: e.id, ts: e.ts, dep: e.dep, x: e.x, y: e.y };
    case 'browsing':
      return e.dep === undefined ? { id: e.id, ts: e.ts, x: e.x, y: e.y } : { id: e.id, ts: e.ts, x: e.x, y: e.y, dep: e.dep };
    case 'redemption':
      return { id: e.id, ts: e.ts, coupon_id: e.couponId, amount: e.amount };
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

/** The event a logged flat payload (as toFlat wrote it) carries, or undefined for another type or bad data. */
export function fromFlat(type: string, flat: unknown): StoreEvent | undefined {
  const d = flat as Record<string, unknown> | null | undefined;
  if (!d || typeof d.ts !== 'number') return undefined;
  const id = String(d.id);
  const at = typeof d.x === 'number' && typeof d.y === 'number' ? { x: d.x, y: d.y } : undefined;
  switch (type) {
    case 'entry':
    case 'exit':
      return { kind: type, id, ts: d.ts };
    case 'move':
      return at ? { kind: 'move', id, ts: d.ts, ...at } : undefined;
    case 'focus': {
      const dep = canonicalDepartment(String(d.dep));
      return dep ? { kind: 'focus', id, ts: d.ts, dep, ...at } : undefined;
    }
    case 'redemption':
      return typeof d.coupon_id === 'number' && typeof d.amount === 'number'
        ? { kind: 'redemption', id, ts: d.ts, couponId: d.coupon_id, amount: d.amount }
        : undefined;
    default:
      return undefined;
  }
}
