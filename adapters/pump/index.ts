/**
 * The pump role (seed 000): a focus-event load generator. It is an external producer, so it
 * publishes straight to FOCUS_TOPIC with its own MQTT client, not through the event log (a
 * recommender in the same process reads its events back from the broker like anyone else's).
 * Started and stopped over HTTP (/start, /stop, which also broadcast on COMMAND_TOPIC: routes.ts), over MQTT
 * (START / STOP, any case, on COMMAND_TOPIC and COMMAND_TOPIC/<instance id>), or by GENERATOR_AUTO_START.
 * The pump itself is pump.ts.
 */
import type { RoleFactory, RoleHandle } from '../process/role.ts';
import { createPump, type Pump } from './pump.ts';
import { pumpRoutes } from './routes.ts';

export interface PumpHandle extends RoleHandle {
  pump: Pump;
}

export const pumpRole: RoleFactory = async (ctx) => {
  const { config } = ctx;
  const log = ctx.log.child({ role: 'pump' });
  // its own client id per instance, so replicas sharing MQTT_CLIENT_ID do not take over each other's connection
  const id = config.pump.instanceId;
  const broker = await ctx.connectBroker(id.startsWith('pump') ? id : `pump-${id}`);
  const pump = createPump({ config, broker, log, metrics: ctx.metrics });
  await broker.subscribe(
    pump.commandTopics,
    (topic, payload) => {
      if (pump.commandTopics.includes(topic)) pump.command(payload, topic);
    },
    { shared: false },
  );
  log.info(
    { instanceId: pump.instanceId, topic: config.topics.focus, commandTopics: pump.commandTopics, autoStart: config.pump.autoStart },
    `focus-event pump ready, instance id ${pump.instanceId}`,
  );

  /** /start and /stop also tell every other instance, on the command topic. */
  const broadcast = async (word: 'START' | 'STOP') => {
    try {
      await broker.publish(config.topics.command, word);
      return true;
    } catch (err) {
      log.warn({ err, topic: config.topics.command }, `could not broadcast ${word}`);
      return false;
    }
  };

  const routes = pumpRoutes(pump, broadcast);

  const handle: PumpHandle = {
    pump,
    routes,
    async start() {
      if (config.pump.autoStart) pump.start('GENERATOR_AUTO_START');
    },
    async stop() {
      pump.close();
    },
  };
  return handle;
};
