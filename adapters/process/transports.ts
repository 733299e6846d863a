/**
 * The one place the message transport (adapters/edges/transport.ts) is made, from the configuration's own choice
 * (`config.transport`, schemas/env/derive.ts: Kafka when BOOTSTRAP_SERVERS is set, none under TESTING_NO_MQTT
 * (publications logged), MQTT otherwise: MQTT_URL / MQTT_HOST, or the embedded broker at `brokerUrls`). Everything past this point asks the transport, not the configuration.
 */
import type { Config } from '../../schemas/env.ts';
import type { Logger } from './logger.ts';
import type { Transport } from '../edges/transport.ts';
import { mqttTransport } from '../edges/mqtt.ts';
import { type connectKafka, kafkaTransport } from '../edges/kafka.ts';
import { loggingTransport } from '../edges/logging-transport.ts';

export interface TransportChoice {
  /** Kafka through another client than @platformatic/kafka (bench:recommender's --kafka-client kafkajs). */
  connectKafka?: typeof connectKafka;
  /** An MQTT client of `role` lost its session to another process with its client id. */
  onTakenOver?: (role: string) => void;
}

export function pickTransport(config: Config, brokerUrls: string[], log: Logger, o: TransportChoice = {}): Transport {
  switch (config.transport) {
    case 'kafka':
      return kafkaTransport(config, log, o.connectKafka);
    case 'none':
      return loggingTransport(log);
    default:
      return mqttTransport(config, brokerUrls, log, o.onTakenOver);
  }
}
