/**
 * The fuzz run's surroundings: its temporary folder and log file, free loopback ports, the child's
 * environment (every role, embedded PostgreSQL and broker; the machine's services when DATABASE_URL /
 * MQTT_URL / AMQP_URL are set, in a private schema and topic prefix) and the configuration it makes.
 */
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig, type Config } from '../../schemas/env.ts';
import { freePort } from '../../adapters/edges/ports.ts';
import { bad } from './args.ts';

export interface FuzzEnv {
  /** The repository's root (the child's working directory). */
  root: string;
  work: string;
  home: string;
  logFile: WriteStream;
  external: { db: string; mqtt: string; amqp: string };
  /** The private schema and topic prefix, client ids. */
  tag: string;
  ports: { http: number; stream: number; api: number; mqtt: number; pg: number };
  childEnv: Record<string, string>;
  config: Config;
  databaseUrl: string;
  brokerUrl: string;
}

export async function prepare(): Promise<FuzzEnv> {
  const work = mkdtempSync(join(tmpdir(), 'storeflow-fuzz-'));
  const home = join(work, 'home');
  const logFile = createWriteStream(join(work, 'storeflow.log'));
  const external = { db: process.env.DATABASE_URL || '', mqtt: process.env.MQTT_URL || process.env.MQTT_HOST || '', amqp: process.env.AMQP_URL || '' };
  const tag = `fuzz_${process.pid}`;
  const ports = { http: await freePort(), stream: await freePort(), api: await freePort(), mqtt: await freePort(), pg: await freePort() };
  const childEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    STOREFLOW_HOME: home,
    HOST: '127.0.0.1',
    PORT: String(ports.http),
    STREAM_PORT: String(ports.stream),
    STREAM_API_PORT: String(ports.api),
    MQTT_PORT: String(ports.mqtt),
    PG_PORT: String(ports.pg),
    LOG_LEVEL: 'warn',
    LOG_FILENAME: '',
    GENERATOR_AUTO_START: 'false',
    SIMULATOR_AUTO_START: 'false',
    AUTO_SEED: 'true',
    DEAD_LETTER_TOPIC: '',
    ...(external.db ? { DATABASE_SCHEMA: tag } : {}),
    ...(external.mqtt ? { MQTT_TOPIC_PREFIX: `${tag}/`, MQTT_CLIENT_ID: tag } : {}),
    // a topic exchange binds `#`: every hostile routing key reaches storeflow (a direct one routes only the streams' keys)
    ...(external.amqp ? { AMQP_EXCHANGE_TYPE: 'topic' } : {}),
  };
  delete childEnv.ROLES;
  delete childEnv.DEBUG;
  delete childEnv.NODE_OPTIONS;
  const parsed = parseConfig(childEnv);
  if (!parsed.ok) bad(`the environment is not a valid storeflow configuration: ${parsed.problems.join('; ')}`);
  const config = parsed.config;
  const databaseUrl = external.db || `postgres://postgres@127.0.0.1:${ports.pg}/postgres`;
  const brokerUrl = config.transport !== 'none' && config.mqtt.mode === 'external' ? config.mqtt.urls[0] : `mqtt://127.0.0.1:${ports.mqtt}`;
  return { root: resolve(import.meta.dirname, '..', '..'), work, home, logFile, external, tag, ports, childEnv, config, databaseUrl, brokerUrl };
}
