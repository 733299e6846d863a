/**
 * Scoring over HTTP in the original prediction service's protocol (REFERENCE.md §2), for
 * COUPON_SCORER_URL. Failures and timeouts throw; the session turns that into "no prediction".
 */
import type { CouponInfo, CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';

export function scoreRequestBody(customer: CustomerInfo, coupons: readonly CouponInfo[]) {
  return {
    customer: {
      customer_id: customer.customer_id,
      gender: customer.gender,
      age: customer.age,
      mean_buy_price: customer.mean_buy_price,
      total_coupons_used: customer.total_coupons_used,
      mean_discount_received: customer.mean_discount_received,
      unique_products_bought: customer.unique_products_bought,
      unique_products_bought_with_coupons: customer.unique_products_bought_with_coupons,
      total_items_bought: customer.total_items_bought,
    },
    coupons: coupons.map((c) => ({
      coupon_id: c.coupon_id,
      coupon_type: c.coupon_type,
      department: c.department,
      discount: c.discount,
      how_many_products_required: c.how_many_products_required,
      product_mean_price: c.product_mean_price,
      products_available: c.products_available,
    })),
  };
}

export function remoteScorer(url: string, timeoutMs: number): CouponScorer {
  return {
    async score(customer, coupons) {
      if (coupons.length === 0) return [];
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(scoreRequestBody(customer, coupons)),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!res.ok) throw new Error(`scorer answered ${res.status}`);
      const body = (await res.json()) as { coupon_id: string | number; prediction: number }[];
      if (!Array.isArray(body)) throw new Error('scorer answered with something other than a list');
      const byId = new Map(body.map((r) => [String(r.coupon_id), Number(r.prediction)]));
      return coupons.map((c) => {
        const p = byId.get(String(c.coupon_id));
        if (p === undefined || Number.isNaN(p)) throw new Error(`scorer returned no prediction for coupon ${c.coupon_id}`);
        return p;
      });
    },
  };
}
