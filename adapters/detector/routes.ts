/** The detector's routes: no seed paths, so they live under /detector only, never at the root. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { DetectorProcessor } from './processor.ts';
import type { RouteOptions } from '../process/role.ts';
import { AppError } from '../process/errors.ts';
import { must } from '../../actors/kernel/must.ts';

export function detectorRoutes(
  processor: DetectorProcessor,
  settings: { focusMinMoves: number; browsingMinMoves: number; browsingRadius?: number },
): FastifyPluginAsyncTypebox<RouteOptions> {
  const shoppers = processor.shoppers;
  // the actor's state, and the walk its footsteps counted (every move, the actor hears those that matter)
  const describe = (id: string) => {
    const s = must(shoppers.get(id), `shopper ${id}`).getSnapshot();
    const walk = processor.walkOf(id);
    return {
      customer_id: id,
      state: s.value,
      department: s.context.dep ?? null,
      moves: walk?.moves ?? 0,
      announced: walk?.lingered ?? false,
      last_ts: walk?.lastTs ?? s.context.lastTs,
    };
  };
  return async (app) => {
    if (!app.prefix) return;
    app.get('/shoppers', { schema: { tags: ['detector'], summary: 'Customers the detector is tracking: zone and consecutive moves there' } }, async () => ({
      shoppers: shoppers.ids().map(describe),
      focus_min_moves: settings.focusMinMoves,
      browsing_min_moves: settings.browsingMinMoves,
      browsing_radius: settings.browsingRadius ?? 0,
    }));
    app.get(
      '/shoppers/:id',
      { schema: { tags: ['detector'], summary: 'One tracked customer', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
      async (req) => {
        if (!shoppers.has(req.params.id)) throw new AppError('not_found', `the detector is not tracking customer ${req.params.id}`);
        return describe(req.params.id);
      },
    );
  };
}
