/**
 * The detector role: one focus-detector actor per customer in the store, fed by the pipeline (entry,
 * move, exit from MQTT, or from the local simulator), its focus and browsing events logged and then
 * published on FOCUS_TOPIC / BROWSING_TOPIC and handed to the local recommender.
 */
import type { FastifyPluginAsync } from 'fastify';
import { focusDetectorMachine, type DetectorEmitted } from '../machines/focus-detector.ts';
import type { ActorRegistry } from '../actors/actor-registry.ts';
import { DetectorHost, detectedEvent } from '../actors/detector-host.ts';
import { toFlat } from '../schemas/events.ts';
import type { RoleFactory, RoleHandle, RouteOptions } from './role.ts';
import { outputId, type Output } from './pipeline.ts';
import { AppError } from './errors.ts';

export interface DetectorHandle extends RoleHandle {
  shoppers: ActorRegistry<typeof focusDetectorMachine>;
}

export const detectorRole: RoleFactory = async (ctx) => {
  const { config, metrics, pipeline } = ctx;
  const log = ctx.log.child({ role: 'detector' });
  const broker = await ctx.connectBroker('detector');
  const m = {
    focus: metrics.counter('storeflow_focus_detected_total', 'Focus events detected from movement', ['department']),
    browsing: metrics.counter('storeflow_browsing_detected_total', 'Browsing events detected from movement'),
    shoppers: metrics.gauge('storeflow_detector_shoppers', 'Customers the detector is tracking'),
  };

  // the log records the settings detection depends on, so replay can use the same ones
  await ctx.eventLog.append([{
    streamId: 'process', type: 'detector_started', metadata: { source: 'system' },
    data: { settings: { focusMinMoves: config.detector.focusMinMoves, browsingMinMoves: config.detector.browsingMinMoves } },
  }]);
  const host = new DetectorHost({
    focusMinMoves: config.detector.focusMinMoves, browsingMinMoves: config.detector.browsingMinMoves,
    idleTimeoutS: config.recommender.idleTimeoutS, inspect: ctx.inspect,
    onCreated: () => m.shoppers.inc(),
    onEnded: () => m.shoppers.dec(),
    onError: (id, err) => log.error({ err, customer: id }, 'detector actor failed'),
  });
  const shoppers = host.shoppers;

  const toOutput = (e: DetectorEmitted): Output => {
    const event = detectedEvent(e);
    const data = toFlat(event);
    return {
      streamId: `customer-${e.customerId}`, type: e.type, data, event,
      messageId: outputId(e.inputId, e.type), metadata: { cause: e.inputId },
      publish: { topic: e.type === 'focus' ? config.topics.focus : config.topics.browsing, payload: JSON.stringify(data) },
    };
  };

  pipeline.consume(['entry', 'move', 'exit'], async ({ logged, event }) => {
    const emitted = host.input(event, logged.messageId ?? `position-${logged.position}`);
    if (emitted.length === 0) return undefined;
    try {
      await pipeline.emit(emitted.map(toOutput), broker);
    } catch (err) {
      log.error({ err, customer: event.id }, 'could not log a detected event; not published');
      return undefined;
    }
    for (const e of emitted) {
      if (e.type === 'focus') m.focus.inc({ department: e.dep });
      else m.browsing.inc();
    }
    return undefined;
  });

  const describe = (id: string) => {
    const s = shoppers.get(id)!.getSnapshot();
    return { customer_id: id, state: s.value, department: s.context.dep ?? null, moves: s.context.moves, announced: s.context.announced, last_ts: s.context.lastTs };
  };

  // The detector has no seed paths: its routes live under /detector only, never at the root.
  const routes: FastifyPluginAsync<RouteOptions> = async (app) => {
    if (!app.prefix) return;
    app.get('/shoppers', { schema: { summary: 'Customers the detector is tracking: zone and consecutive moves there' } }, async () => ({
      shoppers: shoppers.ids().map(describe),
      focus_min_moves: config.detector.focusMinMoves,
      browsing_min_moves: config.detector.browsingMinMoves,
    }));
    app.get<{ Params: { id: string } }>('/shoppers/:id', { schema: { summary: 'One tracked customer' } }, async (req) => {
      if (!shoppers.has(req.params.id)) throw new AppError('not_found', `the detector is not tracking customer ${req.params.id}`);
      return describe(req.params.id);
    });
  };

  log.info({ focusMinMoves: config.detector.focusMinMoves, browsingMinMoves: config.detector.browsingMinMoves }, 'detector ready');
  const handle: DetectorHandle = {
    shoppers, routes,
    async stop() { shoppers.stopAll(); },
  };
  return handle;
};
