/** The in-process coupon model (actors/coupon-model.json unless MODEL_FILE says otherwise). */
import type { CouponScorer } from '../actors/store-data.ts';

export async function inProcessScorer(modelFile: string): Promise<CouponScorer> {
  const mod: { loadCouponModel(file?: string): CouponScorer } = await import('../actors/coupon-scorer.ts' as string);
  return mod.loadCouponModel(modelFile || undefined);
}
