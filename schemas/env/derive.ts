/**
 * From the variables' values to the Config: the seeds' aliases joined (two that differ are a problem),
 * topic names built (prefix, Kafka's separator), transport chosen (embedded, external, none or Kafka),
 * the checks that span variables, and the warnings a setting deserves. No I/O but the host name, the
 * default of ids that must differ between replicas.
 */
import { hostname } from 'node:os';
import type { Static } from '@sinclair/typebox';
import { KAFKA_TOPIC, type Config, type ConfigResult, type PortVariable, type Topics, type TracingConfig } from './config.ts';
import type { Env } from './read.ts';
import type { Role } from './process.ts';
import type { EnvSchema } from './schema.ts';

const PORT_VARIABLES: PortVariable[] = ['PORT', 'STREAM_PORT', 'STREAM_API_PORT', 'MQTT_PORT', 'PG_PORT'];

/** `value`: the environment as read against the schema (read.ts); `problems`: what reading it found, to which the checks here add. */
export function deriveConfig(env: Env, value: Static<typeof EnvSchema>, problems: string[]): ConfigResult {
  const alias = (a: keyof typeof value, b: keyof typeof value, def: string) => {
    const va = value[a] as string | undefined,
      vb = value[b] as string | undefined;
    if (va !== undefined && vb !== undefined && va !== vb)
      problems.push(`${a} and ${b} are aliases but differ (${JSON.stringify(va)} vs ${JSON.stringify(vb)})`);
    return va ?? vb ?? def;
  };
  const prefix = (value.MQTT_TOPIC_PREFIX as string) ?? '';
  const kafka = typeof value.BOOTSTRAP_SERVERS === 'string';
  // Kafka topic names cannot hold '/': on Kafka the defaults are customer.enter, …, focusEventPump.command
  const sep = kafka ? '.' : '/';
  const topics: Topics = {
    enter: prefix + alias('ENTER_TOPIC', 'ENTRY_EVENT_TOPIC_NAME', `customer${sep}enter`),
    move: prefix + (value.MOVE_TOPIC ?? `customer${sep}move`),
    exit: prefix + (value.EXIT_TOPIC ?? `customer${sep}exit`),
    focus: prefix + alias('FOCUS_TOPIC', 'FOCUS_EVENT_TOPIC_NAME', `customer${sep}focus`),
    browsing: prefix + (value.BROWSING_TOPIC ?? `customer${sep}browsing`),
    redemption: prefix + (value.REDEMPTION_TOPIC ?? `customer${sep}redemption`),
    prediction: prefix + alias('COUPON_PREDICTION_TOPIC', 'COUPON_PREDICTION_TOPIC_NAME', `customer${sep}prediction`),
    command: prefix + (value.COMMAND_TOPIC ?? `focusEventPump${sep}command`),
    deadLetter: value.DEAD_LETTER_TOPIC ? prefix + value.DEAD_LETTER_TOPIC : '',
  };
  const bootstrap = kafka
    ? String(value.BOOTSTRAP_SERVERS)
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean)
    : [];
  if (kafka) {
    if (bootstrap.length === 0 || bootstrap.some((b) => !/^[^\s:/]+:\d{1,5}$/.test(b)))
      problems.push(`BOOTSTRAP_SERVERS: expected a comma-separated list of host:port, got ${JSON.stringify(env.BOOTSTRAP_SERVERS)}`);
    for (const [name, topic] of Object.entries(topics))
      if (topic && !KAFKA_TOPIC.test(topic))
        problems.push(
          `${name} topic ${JSON.stringify(topic)} is not a legal Kafka topic name (at most 249 of a-z A-Z 0-9 . _ -; check MQTT_TOPIC_PREFIX and the *_TOPIC variables)`,
        );
  }
  // a replica of a consumer group (GROUP_ID) needs an id of its own for its persistent session: its host name
  // (stable in a StatefulSet) unless one is given
  const clientId = alias('MQTT_CLIENT_ID', 'CLIENT_ID', value.GROUP_ID ? `storeflow-${hostname()}` : 'storeflow');
  if (value.MQTT_URL && value.MQTT_HOST) problems.push('MQTT_URL and MQTT_HOST: set one of them, not both');
  if (typeof value.MIN_CUSTOMER_ID === 'number' && typeof value.MAX_CUSTOMER_ID === 'number' && value.MIN_CUSTOMER_ID > value.MAX_CUSTOMER_ID)
    problems.push(`MIN_CUSTOMER_ID (${value.MIN_CUSTOMER_ID}) must not exceed MAX_CUSTOMER_ID (${value.MAX_CUSTOMER_ID})`);
  if (typeof value.CONSUME_FROM === 'string' && /^\d/.test(value.CONSUME_FROM) && Number.isNaN(Date.parse(value.CONSUME_FROM)))
    problems.push(`CONSUME_FROM: not a valid ISO-8601 time, got ${JSON.stringify(env.CONSUME_FROM)}`);
  const hosts =
    typeof value.MQTT_HOST === 'string'
      ? value.MQTT_HOST.split(',')
          .map((h: string) => h.trim())
          .filter(Boolean)
      : [];
  if (typeof value.MQTT_HOST === 'string' && hosts.length === 0) problems.push('MQTT_HOST: expected a comma-separated list of hosts');
  // aliases holding a password: their values are never shown
  if (value.AMQP_URL && value.ESS_AMPQ_URL && value.AMQP_URL !== value.ESS_AMPQ_URL)
    problems.push('AMQP_URL and ESS_AMPQ_URL are aliases but differ (values not shown)');
  if (problems.length) return { ok: false, problems };

  const noMqtt = value.TESTING_NO_MQTT || value.TESTING_MOCK_MQTT;
  const useTls = !!value.MQTT_BROKER_CERT_FILE;
  const urls: string[] = value.MQTT_URL
    ? [value.MQTT_URL]
    : hosts.map((h: string) => (h.includes('://') ? h : `${useTls ? 'mqtts' : 'mqtt'}://${h.includes(':') ? h : `${h}:${value.MQTT_PORT}`}`));
  const pv = String(value.MQTT_PROTOCOL_VERSION);
  const level = String(value.LOG_LEVEL);
  const warnings: string[] = [];
  if (kafka && (value.MQTT_URL || value.MQTT_HOST)) warnings.push('BOOTSTRAP_SERVERS is set: storeflow uses Kafka, and MQTT_URL / MQTT_HOST are ignored');
  if (kafka && value.AUTO_OFFSET_RESET === 'none')
    warnings.push('AUTO_OFFSET_RESET=none: a consumer group with no committed offset starts at the latest message (as latest)');
  if (value.TESTING_MOCK_MQTT && !value.TESTING_NO_MQTT) warnings.push('TESTING_MOCK_MQTT=true: nothing is published, outputs are logged');
  const config: Config = {
    roles: [
      ...new Set(
        String(value.ROLES)
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean),
      ),
    ] as Role[],
    port: value.PORT,
    portsSet: PORT_VARIABLES.filter((k) => env[k] !== undefined && env[k].trim() !== ''),
    host: value.HOST,
    home: value.STOREFLOW_HOME,
    controlToken: value.CONTROL_TOKEN,
    logLevel: level === 'warning' ? 'warn' : level === 'critical' ? 'fatal' : (level as Config['logLevel']),
    logFile: value.LOG_FILENAME,
    inspect: value.XSTATE_INSPECT,
    eventLog: value.EVENT_LOG,
    databaseUrl: value.DATABASE_URL,
    pgPort: value.PG_PORT,
    databaseSchema: value.DATABASE_SCHEMA,
    autoSeed: value.AUTO_SEED,
    seed: value.SEED,
    transport: kafka ? 'kafka' : noMqtt ? 'none' : 'mqtt',
    mqtt: {
      mode: urls.length ? 'external' : 'embedded',
      urls,
      port: value.MQTT_PORT,
      username: value.MQTT_USERNAME,
      password: value.MQTT_PASSWORD,
      caFile: value.MQTT_BROKER_CERT_FILE,
      clientId,
      protocolVersion: pv.startsWith('5') ? 5 : pv === '3' || pv === '3.1' ? 3 : 4,
      connectTimeoutMs: Math.round(value.MQTT_CONNECT_TIMEOUT * 1000),
      group: value.GROUP_ID,
      maxPacketBytes: value.MQTT_MAX_PACKET_BYTES,
    },
    ...(kafka
      ? {
          kafka: {
            brokers: bootstrap,
            clientId: value.CLIENT_ID ?? clientId,
            groupId: value.GROUP_ID ?? `storeflow-${hostname()}${prefix ? `-${prefix.replace(/[^a-zA-Z0-9._-]/g, '_')}` : ''}`,
            pollTimeoutMs: value.POLL_TIMEOUT,
            autoOffsetReset: value.AUTO_OFFSET_RESET,
            partitions: value.KAFKA_PARTITIONS,
            sessionTimeoutMs: value.KAFKA_SESSION_TIMEOUT,
          },
        }
      : {}),
    topics,
    // seed 003's envelope is Kafka's default; MESSAGE_FORMAT set says which
    messageFormat: !env.MESSAGE_FORMAT?.trim() && kafka ? 'envelope' : value.MESSAGE_FORMAT,
    maxPayloadBytes: value.MAX_PAYLOAD_BYTES,
    recommender: {
      scorerUrl: value.COUPON_SCORER_URL,
      scorerTimeoutMs: value.COUPON_SCORER_TIMEOUT,
      maxCoupons: value.MAX_COUPONS_PER_CALL,
      threshold: value.PREDICTION_THRESHOLD,
      couponValidity: value.COUPON_VALIDITY,
      idleTimeoutS: value.SESSION_IDLE_TIMEOUT,
      modelFile: value.MODEL_FILE,
      policy: value.POLICY,
      minExpectedMargin: value.MIN_EXPECTED_MARGIN,
      upliftModelFile: value.UPLIFT_MODEL_FILE,
      explorationRate: value.EXPLORATION_RATE,
      discountBudget: value.DISCOUNT_BUDGET * value.DISCOUNT_BUDGET_SHARE,
      discountBudgetShare: value.DISCOUNT_BUDGET_SHARE,
    },
    detector: { focusMinMoves: value.FOCUS_MIN_MOVES, browsingMinMoves: value.BROWSING_MIN_MOVES, browsingRadius: value.BROWSING_RADIUS },
    ...tracing(value),
    pump: {
      minCustomerId: value.MIN_CUSTOMER_ID,
      maxCustomerId: value.MAX_CUSTOMER_ID,
      intervalS: value.PERIODIC_TASKS_INTERVAL,
      autoStart: value.GENERATOR_AUTO_START,
      eventsPerTick: value.EVENTS_PER_TICK,
      rate: value.PUMP_RATE,
      instanceId: value.PUMP_INSTANCE_ID ?? `pump-${hostname()}`,
    },
    simulator: {
      storeHeight: value.STORE_HEIGHT,
      storeWidth: value.STORE_WIDTH,
      averageInStore: value.CUSTOMERS_AVERAGE_IN_STORE,
      customersFile: value.CUSTOMERS_LIST_FILE,
      consumeFrequencyS: value.CONSUME_FREQUENCY,
      consumeFrom: value.CONSUME_FROM,
      batchSize: value.CONSUME_BATCH_SIZE,
      speed: value.SIM_SPEED,
      autoStart: value.SIMULATOR_AUTO_START,
      staleEvents: value.STALE_EVENTS,
    },
    gateway: {
      streamPort: value.STREAM_PORT,
      apiPort: value.STREAM_API_PORT,
      apiToken: value.ESS_API_TOKEN,
      ingressLocation: value.ESS_INGRESS_LOCATION,
      ingressSecure: value.ESS_INGRESS_SECURE,
      clientBuffer: value.STREAM_CLIENT_BUFFER,
      amqpUrl: value.AMQP_URL ?? value.ESS_AMPQ_URL,
      amqpExchange: value.AMQP_EXCHANGE,
      amqpExchangeType: value.AMQP_EXCHANGE_TYPE,
    },
    warnings,
  };
  return { ok: true, config };
}

/** OpenTelemetry: on when an OTLP endpoint is set, unless OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none say otherwise. */
function tracing(value: Static<typeof EnvSchema>): { tracing?: TracingConfig } {
  const base = value.OTEL_EXPORTER_OTLP_ENDPOINT;
  const url = value.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!url || value.OTEL_SDK_DISABLED || value.OTEL_TRACES_EXPORTER === 'none') return {};
  return {
    tracing: {
      url,
      protocol: value.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? value.OTEL_EXPORTER_OTLP_PROTOCOL,
      sampler: value.OTEL_TRACES_SAMPLER,
      ratio: value.OTEL_TRACES_SAMPLER_ARG,
      serviceName: value.OTEL_SERVICE_NAME,
      scheduleDelayMs: value.OTEL_BSP_SCHEDULE_DELAY,
    },
  };
}
