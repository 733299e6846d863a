/** The pump's routes (seed 000): the bare /state, /start and /stop, and under /pump its healthcheck and live settings. */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { RouteOptions } from '../process/role.ts';
import { AppError } from '../process/errors.ts';
import { LIMITS } from '../../schemas/limits.ts';
import { PumpSettingsBody, type Pump } from './pump.ts';

const stateSchema = {
  summary: 'Pump state (seed 000: {"state": "started"|"stopped"}), events sent and the achieved rate',
  response: {
    200: Type.Object(
      {
        state: Type.Union([Type.Literal('started'), Type.Literal('stopped')]),
        instance_id: Type.String(),
        events_sent: Type.Integer(),
        rate: Type.Number(),
        target_rate: Type.Number(),
        events_per_tick: Type.Integer(),
        interval_s: Type.Number(),
        publish_failures: Type.Integer(),
        topic: Type.String(),
        command_topics: Type.Array(Type.String()),
      },
      { additionalProperties: true },
    ),
  },
};

/** /start and /stop (which also tell every other instance, through `broadcast`), /state, and under /pump its settings. */
export function pumpRoutes(pump: Pump, broadcast: (word: 'START' | 'STOP') => Promise<boolean>): FastifyPluginAsyncTypebox<RouteOptions> {
  return async (app, opts) => {
    const underPrefix = !!app.prefix;
    // the seed's bare /state, /start, /stop: always under /pump, at the root when the pump owns them
    if (opts.sharedPaths) {
      app.post('/start', { schema: { summary: 'Start publishing; also broadcasts START on COMMAND_TOPIC' } }, async () => {
        pump.start('http');
        pump.countCommand('START', 'http');
        return { ...pump.state(), broadcast: await broadcast('START') };
      });
      app.post('/stop', { schema: { summary: 'Stop publishing; also broadcasts STOP on COMMAND_TOPIC' } }, async () => {
        pump.stop('http');
        pump.countCommand('STOP', 'http');
        return { ...pump.state(), broadcast: await broadcast('STOP') };
      });
      app.get('/state', { schema: stateSchema }, async () => pump.state());
    }
    if (underPrefix) {
      // the control plane serves /healthcheck at the root already
      app.get('/healthcheck', { schema: { summary: 'Liveness (seed 000)', response: { 200: Type.String() } } }, async () => 'OK');
      app.post(
        '/settings',
        {
          schema: { summary: 'Change the load live: target rate, events per tick, interval (this instance only)', body: PumpSettingsBody },
        },
        async (req) => {
          const body = req.body ?? {};
          if (Object.keys(body).length === 0) throw new AppError('schema', 'give at least one of rate, events_per_tick, interval_s');
          // ticks set the pace when rate is 0: events_per_tick / interval_s has the rate's bound too
          if (body.rate === 0 || (body.rate === undefined && (body.events_per_tick !== undefined || body.interval_s !== undefined))) {
            const s = pump.state();
            const perTick = body.events_per_tick ?? s.events_per_tick,
              interval = body.interval_s ?? s.interval_s;
            if (perTick / interval > LIMITS.pumpRate)
              throw new AppError(
                'schema',
                `events_per_tick / interval_s: ${perTick} every ${interval} s is ${Math.round(perTick / interval)} events/s, above the pump's ${LIMITS.pumpRate}/s`,
              );
          }
          pump.settings(body);
          return pump.state();
        },
      );
    }
  };
}
