/**
 * Which events a page's stream carries, as a gateway routing key (actors/gateway/routing-key.ts):
 * `store` is what the manager's screen folds, every customer's events; `log` is the whole log (the
 * events view, rejected inputs and process records too). A customer and an event type narrow either.
 */
export type PageScope = 'store' | 'log';

export interface PageFilter {
  scope?: PageScope;
  customer?: string;
  type?: string;
}

/** A customer id or an event type as a routing key segment (what the gateway can address). */
export const SEGMENT = /^[A-Za-z0-9_:-]{1,64}$/;

export function pageStreamKey({ scope = 'store', customer, type }: PageFilter): string {
  if (customer !== undefined) return type === undefined ? `customer.${customer}` : `customer.${customer}.${type}`;
  if (type !== undefined) return scope === 'store' ? `customer.*.${type}` : type;
  return scope === 'store' ? 'customer.#' : '#';
}
