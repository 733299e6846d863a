/**
 * What a customer's session (machines/session.ts) asks of the world, as a port, and the invoked actors that
 * ask it: reading the customer's row, deciding a focus. The port comes in each actor's `input`; both answer
 * within the step when the answer is at hand (a row in memory, the in-process model), else once it settles.
 */
import { fromValueOrPromise } from '../kernel/value-or-promise.ts';
import { must } from '../kernel/must.ts';
import type { CustomerInfo } from '../data/store-data.ts';
import type { ScoreResult } from './coupon-decision.ts';
import type { FocusToDecide } from './decide-focus.ts';

export interface SessionPort {
  /** The customer's customer_info row (null: not there); synchronous when it is in memory. */
  customer(customerId: string): CustomerInfo | null | Promise<CustomerInfo | null>;
  /** The focus's decision (actors/recommender/decide-focus.ts); never rejects: a failing scorer is `scorer_failed`. */
  decide(input: FocusToDecide): ScoreResult | Promise<ScoreResult>;
}

/** Reads the customer's row; resolves null for an unknown customer. */
export const loadCustomer = fromValueOrPromise<CustomerInfo | null, { customerId: string; port?: SessionPort }>(({ input }) =>
  must(input.port, 'the session port').customer(input.customerId),
);

/** Decides a focus: at once with the in-process model, or awaited (a remote scorer) while the session is `scoring`. */
export const scoreCoupons = fromValueOrPromise<ScoreResult, FocusToDecide & { port?: SessionPort }>(({ input }) =>
  must(input.port, 'the session port').decide(input),
);
