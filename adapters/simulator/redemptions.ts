/**
 * Simulated shoppers use the coupons they are offered (issue 23). The simulator hears the predictions
 * (COUPON_PREDICTION_TOPIC, flat or envelope; every simulator hears every one, so it is never a shared
 * subscription) and a shopper of this simulator still in the store redeems the offered coupon with the
 * probability their hidden preferences give (actors/simulator/redemption.ts: seeded by SEED and the offer, so the
 * same prediction always has the same outcome). A redemption is published on REDEMPTION_TOPIC,
 * `{"id", "ts", "coupon_id", "amount"}` (`ts`: the offer's; `amount`: what the shopper paid for the
 * coupon's items); the recommender's pipeline logs it in the customer's stream. With no broker
 * (TESTING_NO_MQTT) no prediction reaches the simulator, so nobody redeems.
 */
import { isoToSeconds } from '../../schemas/normalise.ts';
import { shopperRedemption, type PublishedOffer, type RedemptionPayload, type Shopper } from '../../actors/simulator/redemption.ts';
import type { TransportClient } from '../edges/transport.ts';

export type OfferOutcome = 'redeemed' | 'declined' | 'not_in_store' | 'unknown_coupon' | 'unreadable' | 'failed';

/** The customer, time and coupon of a prediction message: flat (the coupon in full) or envelope (its id only). */
export function offerOf(payload: unknown): { customerId: string; ts: number; coupon: PublishedOffer | number } | undefined {
  if (!payload || typeof payload !== 'object') return undefined;
  // a prediction in either format, its fields still to be checked
  const p = payload as {
    event_type?: unknown;
    event_timestamp?: unknown;
    payload?: { customer_id?: unknown; coupon_id?: unknown };
    customer?: { id?: unknown };
    ts?: unknown;
    coupon?: { id?: unknown; products?: unknown };
  };
  if (p.event_type === 'prediction result' && p.payload && typeof p.payload === 'object') {
    const ts = isoToSeconds(String(p.event_timestamp));
    const id = p.payload.customer_id,
      coupon = p.payload.coupon_id;
    return Number.isFinite(ts) && (typeof id === 'string' || typeof id === 'number') && Number.isInteger(coupon)
      ? { customerId: String(id), ts, coupon: coupon as number }
      : undefined;
  }
  const c = p.coupon;
  if (
    !p.customer ||
    (typeof p.customer.id !== 'string' && typeof p.customer.id !== 'number') ||
    !Number.isInteger(p.ts) ||
    !c ||
    !Number.isInteger(c.id) ||
    !Array.isArray(c.products)
  )
    return undefined;
  return { customerId: String(p.customer.id), ts: p.ts as number, coupon: c as PublishedOffer };
}

export interface OfferWiring {
  seed: number;
  /** The shopper, while this simulator has them in the store. */
  shopper(customerId: string): Shopper | undefined;
  /** A coupon as a prediction publishes it, for envelope predictions (which carry its id only). */
  coupon(id: number): Promise<PublishedOffer | undefined>;
  publish(r: RedemptionPayload): Promise<void>;
}

/** One prediction message: what became of the offer (and the redemption, published, when redeemed). */
export async function considerOffer(w: OfferWiring, text: string): Promise<OfferOutcome> {
  let offer: ReturnType<typeof offerOf>;
  try {
    offer = offerOf(JSON.parse(text));
  } catch {
    return 'unreadable';
  }
  if (!offer) return 'unreadable';
  const shopper = w.shopper(offer.customerId);
  if (!shopper) return 'not_in_store';
  const coupon = typeof offer.coupon === 'number' ? await w.coupon(offer.coupon) : offer.coupon;
  if (!coupon) return 'unknown_coupon';
  const { redemption } = shopperRedemption(w.seed, shopper, { ts: offer.ts, coupon });
  if (!redemption) return 'declined';
  await w.publish(redemption);
  return 'redeemed';
}

/** Subscribes the simulator's client to the prediction topic; `outcome` hears every offer's fate (`failed`: the publication or the coupon lookup failed). */
export async function listenForOffers(
  broker: TransportClient,
  predictionTopic: string,
  w: OfferWiring,
  outcome: (o: OfferOutcome, err?: unknown) => void,
): Promise<void> {
  await broker.subscribe(
    [predictionTopic],
    async (_topic, payload) => {
      try {
        outcome(await considerOffer(w, payload.toString('utf8')));
      } catch (err) {
        outcome('failed', err);
      }
    },
    { shared: false },
  );
}
