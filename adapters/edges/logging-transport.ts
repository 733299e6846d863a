/**
 * TESTING_NO_MQTT / TESTING_MOCK_MQTT: a transport that connects to nothing. Its publications are logged; nothing
 * is ever delivered to a subscription, so the pipeline hands its outputs to its processors itself.
 */
import type { Logger } from '../process/logger.ts';
import type { Transport, TransportClient } from './transport.ts';

export function loggingTransport(log: Logger): Transport {
  return {
    // it stands in for MQTT (TESTING_NO_MQTT); no input ever arrives through it
    source: 'mqtt',
    handsOffLocally: true,
    connect: async (role) => loggingClient(log.child({ role })),
  };
}

/** A client whose publications are logged (the `none` transport's). */
export function loggingClient(log: Logger): TransportClient {
  return {
    async publish(topic, payload) {
      log.info({ topic, payload: payload.toString() }, 'MQTT disabled (TESTING_NO_MQTT): would publish');
    },
    send(topic, payload, _opts, done) {
      log.info({ topic, payload: payload.toString() }, 'MQTT disabled (TESTING_NO_MQTT): would publish');
      done?.();
    },
    async subscribe() {},
    topicName: (topic) => topic,
    isConnected: () => true,
    async close() {},
  };
}
