/**
 * Redemptions in the log (issue 23): the recommender consumes REDEMPTION_TOPIC (the simulator's
 * shoppers redeeming the coupons it offered), so the pipeline appends each one to the customer's
 * stream, next to the prediction it answers, before anything else happens. Nothing is decided on a
 * redemption (no outputs, so replay has nothing to redo); it is counted, and the dashboard counts
 * it from the log.
 */
import type { Metrics } from '../process/metrics.ts';
import type { Input, Output, Processor, Registration } from '../process/processor-contract.ts';

export class RedemptionLog implements Processor {
  readonly consumes = ['redemption'] as const;
  private redemptions;
  private revenue;

  constructor(metrics: Metrics) {
    this.redemptions = metrics.counter('storeflow_redemptions_total', 'Offered coupons redeemed by shoppers (logged)');
    this.revenue = metrics.counter('storeflow_redemption_revenue_total', 'What shoppers paid for the items of redeemed coupons');
  }

  handle({ event }: Input): Output[] {
    if (event.kind === 'redemption') {
      this.redemptions.inc();
      this.revenue.inc(event.amount);
    }
    return [];
  }
}

export function redemptionLog(metrics: Metrics): Registration {
  return { processor: new RedemptionLog(metrics), name: 'redemptions' };
}
