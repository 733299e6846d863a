/** The in-process coupon model (actors/recommender/coupon-model.json unless MODEL_FILE says otherwise). */
import type { CouponScorer } from '../../actors/data/store-data.ts';
import { loadCouponModel } from '../../actors/recommender/coupon-scorer.ts';

export async function inProcessScorer(modelFile: string): Promise<CouponScorer> {
  return loadCouponModel(modelFile || undefined);
}
