/** The detector's routes: no seed paths, so they live under /detector only, never at the root. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ActorRegistry } from '../../actors/kernel/actor-registry.ts';
import type { focusDetectorMachine } from '../../machines/focus-detector.ts';
import type { RouteOptions } from '../process/role.ts';
import { AppError } from '../process/errors.ts';

export function detectorRoutes(
  shoppers: ActorRegistry<typeof focusDetectorMachine>,
  settings: { focusMinMoves: number; browsingMinMoves: number; browsingRadius?: number },
): FastifyPluginAsyncTypebox<RouteOptions> {
  const describe = (id: string) => {
    const s = shoppers.get(id)!.getSnapshot();
    return {
      customer_id: id,
      state: s.value,
      department: s.context.dep ?? null,
      moves: s.context.moves,
      announced: s.context.announced,
      last_ts: s.context.lastTs,
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
