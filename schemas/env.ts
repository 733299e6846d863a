/**
 * The environment, as one typebox schema: every variable of the five seeds plus storeflow's own.
 * Values arrive as strings; `parseConfig` converts, applies defaults, resolves the seeds' aliases
 * and reports every problem at once.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { hostname } from 'node:os';

const Str = (description: string, def?: string) =>
  def === undefined ? Type.Optional(Type.String({ description })) : Type.String({ description, default: def });
const Int = (description: string, def: number | undefined, minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  Type.Integer(def === undefined ? { description, minimum, maximum } : { description, default: def, minimum, maximum });
const Num = (description: string, def: number, minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  Type.Number({ description, default: def, minimum, maximum });
const Bool = (description: string, def: boolean) => Type.Boolean({ description, default: def });
const Enum = <T extends string>(description: string, values: readonly T[], def?: T) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    def === undefined ? { description } : { description, default: def },
  );
const Url = (description: string, protocols: string[]) => Type.Optional(Type.String({ description, pattern: `^(${protocols.join('|')})://.+` }));

export const ROLE_NAMES = ['recommender', 'detector', 'simulator', 'pump', 'gateway'] as const;
export type Role = (typeof ROLE_NAMES)[number];

/** Every variable storeflow reads. Grouped by the part that uses it; the seed that named it in the description. */
export const EnvSchema = Type.Object(
  {
    // --- process & control plane
    ROLES: Type.String({
      description: `Comma-separated roles to run in this process (${ROLE_NAMES.join(', ')}); default all`,
      default: ROLE_NAMES.join(','),
      pattern: `^\\s*(${ROLE_NAMES.join('|')})\\s*(,\\s*(${ROLE_NAMES.join('|')})\\s*)*$`,
    }),
    PORT: Int('Control plane HTTP port (dashboard, seed endpoints, /metrics, /docs)', 8000, 0, 65535),
    HOST: Str(
      "Interface every server binds to: the control plane, the gateway's two ports and the embedded MQTT broker. 127.0.0.1 = this machine only; 0.0.0.0 = every interface (a container, a server: set CONTROL_TOKEN)",
      '127.0.0.1',
    ),
    CONTROL_TOKEN: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          "Bearer token the control plane requires (at least 16 characters; e.g. openssl rand -hex 32): every endpoint but liveness, readiness, metrics, docs, the page's files and /auth, and the dashboard's stream. Unset = open (a laptop on 127.0.0.1)",
      }),
    ),
    STOREFLOW_HOME: Str('Folder for embedded data (PostgreSQL data directory, generated CSVs)', '.storeflow'),
    LOG_LEVEL: Enum(
      'Logging level (seeds 000/001); Python names are accepted',
      ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'critical', 'fatal', 'silent'],
      'info',
    ),
    LOG_FILENAME: Str('Also write JSON logs to this file (seeds 000/001)', ''),
    XSTATE_INSPECT: Str('Attach @statelyai/inspect: "sky" for Stately\'s hosted inspector, or a ws:// URL', ''),
    // --- PostgreSQL
    DATABASE_URL: Url('External PostgreSQL; unset = embedded PostgreSQL in STOREFLOW_HOME/pg', ['postgres', 'postgresql']),
    PG_PORT: Int('Port of the embedded PostgreSQL (0 = a free port)', 0, 0, 65535),
    DATABASE_SCHEMA: Type.String({ description: "PostgreSQL schema holding storeflow's tables", default: 'public', pattern: '^[a-z_][a-z0-9_]*$' }),
    AUTO_SEED: Bool('Generate and load the synthetic store on first start when the cache tables are empty', true),
    SEED: Int('Seed of the synthetic data generator and the simulator', 42, 0),
    // --- MQTT
    MQTT_URL: Url('External MQTT broker as a URL (mqtt://, mqtts://, ws://, wss://)', ['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']),
    MQTT_HOST: Str('Comma-separated list of external MQTT brokers (seeds 000-002); unset with MQTT_URL = embedded broker'),
    MQTT_PORT: Int("MQTT brokers' port; the embedded broker listens here", 1883, 0, 65535),
    MQTT_USERNAME: Str('MQTT user name'),
    MQTT_PASSWORD: Str('MQTT password (never logged)'),
    MQTT_BROKER_CERT_FILE: Str('CA certificate file: connect to the brokers over TLS'),
    MQTT_CLIENT_ID: Str(
      "MQTT client id base (seed 001; default storeflow, or storeflow-<host name> with GROUP_ID); roles append their name. One per process: two processes with one id take each other's broker session",
    ),
    CLIENT_ID: Str("Alias of MQTT_CLIENT_ID (seed 003); on Kafka, the clients' client.id label (seed default kafkaClients), which replicas may share"),
    MQTT_PROTOCOL_VERSION: Enum(
      "MQTT protocol for external brokers: 5 (the original's default), 4 (= 3.1.1) or 3; the embedded broker always speaks 3.1.1",
      ['3', '4', '5', '3.1', '3.1.1', '5.0'],
      '5',
    ),
    MQTT_CONNECT_TIMEOUT: Num('Seconds to wait for CONNACK before failing with a clear message', 10, 0.1),
    MQTT_TOPIC_PREFIX: Str('Prefix put before every topic (isolates test runs and tenants)', ''),
    MQTT_MAX_PACKET_BYTES: Int(
      "Largest MQTT packet: the embedded broker, and storeflow's clients on any MQTT version, close a connection that announces a larger one before buffering it; advertised to MQTT 5 brokers (room for the largest prediction storeflow publishes)",
      4194304,
      1024,
      268435455,
    ),
    GROUP_ID: Str(
      'Consumer group (seed 003). Kafka: the group.id the replicas share (partitions are split between them; default storeflow-<host name>, so one instance reads every partition); MQTT: input topics are subscribed as $share/GROUP_ID/topic',
    ),
    TESTING_NO_MQTT: Bool('No broker at all: outputs are written to the log (seeds 000/002)', false),
    TESTING_MOCK_MQTT: Bool('Alias of TESTING_NO_MQTT (seed 001)', false),
    // --- topics (seed aliases resolved below)
    ENTER_TOPIC: Str('Entry events (seed 001)'),
    ENTRY_EVENT_TOPIC_NAME: Str('Alias of ENTER_TOPIC (seeds 002/003)'),
    MOVE_TOPIC: Str('Move events (seed 001)'),
    EXIT_TOPIC: Str('Exit events (seed 001)'),
    FOCUS_TOPIC: Str('Focus events (seed 000)'),
    FOCUS_EVENT_TOPIC_NAME: Str('Alias of FOCUS_TOPIC (seeds 002/003)'),
    BROWSING_TOPIC: Str('Browsing events (detector output)'),
    REDEMPTION_TOPIC: Str('Redemptions: a simulated shopper used an offered coupon (simulator output, logged by the recommender)'),
    COUPON_PREDICTION_TOPIC: Str('Prediction results'),
    COUPON_PREDICTION_TOPIC_NAME: Str('Alias of COUPON_PREDICTION_TOPIC (seeds 002/003)'),
    COMMAND_TOPIC: Str('Pump commands (seed 000)'),
    DEAD_LETTER_TOPIC: Str('Rejected inputs are republished here with the reason (unset = off)', ''),
    MESSAGE_FORMAT: Enum(
      'Prediction output format: flat (seed 002) or envelope (seed 003); unset = flat on MQTT, envelope on Kafka (BOOTSTRAP_SERVERS)',
      ['flat', 'envelope'],
      'flat',
    ),
    MAX_PAYLOAD_BYTES: Int('Largest accepted input message, in bytes', 65536, 64),
    // --- Kafka (seed 003): set BOOTSTRAP_SERVERS and every role's inputs and outputs go through Kafka instead of MQTT
    BOOTSTRAP_SERVERS: Str(
      'Comma-separated Kafka brokers, host:port (seed 003; npm run kafka starts one). Set = Kafka instead of MQTT for every topic, with Kafka-legal default topic names (customer.enter, …)',
    ),
    POLL_TIMEOUT: Int('Kafka: milliseconds a fetch may wait at the broker for new messages (fetch.max.wait.ms; seed 003)', 100, 0, 60000),
    AUTO_OFFSET_RESET: Enum(
      "Kafka: where a consumer group with no committed offset starts (seed 003): earliest = the topic's oldest message, latest = new messages only; none = as latest, with a warning",
      ['earliest', 'latest', 'none'],
      'latest',
    ),
    KAFKA_PARTITIONS: Int('Kafka: partitions of the topics storeflow creates when they are missing (existing topics are used as they are)', 6, 1, 10000),
    KAFKA_SESSION_TIMEOUT: Int(
      "Kafka: milliseconds without a replica's heartbeat before the group gives its partitions to the others (heartbeats every fifth of it)",
      10000,
      2000,
      300000,
    ),
    // --- recommender
    COUPON_SCORER_URL: Url('Remote prediction service (seed 003 protocol); unset = in-process model', ['http', 'https']),
    COUPON_SCORER_TIMEOUT: Int('Remote scorer timeout in milliseconds', 2000, 1),
    MAX_COUPONS_PER_CALL: Int('Coupons kept after scoring', 5, 1),
    PREDICTION_THRESHOLD: Num('Minimum score for a coupon to be offered', 0.2, 0, 1),
    COUPON_VALIDITY: Enum("check = only coupons valid on the event's date; ignore = any date", ['check', 'ignore'], 'check'),
    SESSION_IDLE_TIMEOUT: Int('Seconds of event time after which a forgotten session ends', 7200, 1),
    MODEL_FILE: Str('Coupon model JSON (default: the committed model)', ''),
    // --- detector
    FOCUS_MIN_MOVES: Int('Consecutive moves inside one department that make a focus', 3, 1),
    BROWSING_MIN_MOVES: Int('Consecutive moves outside every department that make a browsing event', 6, 1),
    BROWSING_RADIUS: Num(
      'Plan units: a browsing needs its BROWSING_MIN_MOVES moves within this distance of the last of them (lingering, not walking between departments); 0 = no limit',
      150,
      0,
    ),
    // --- pump (seed 000)
    MIN_CUSTOMER_ID: Int('Smallest customer id the pump draws', 1, 0),
    MAX_CUSTOMER_ID: Int('Largest customer id the pump draws', 1000, 0),
    PERIODIC_TASKS_INTERVAL: Num('Seconds between pump ticks', 1, 0.001),
    GENERATOR_AUTO_START: Bool('Start the pump when the service starts', true),
    EVENTS_PER_TICK: Int('Focus events the pump publishes per tick', 1, 1),
    PUMP_RATE: Num('Target pump rate in events/s (overrides EVENTS_PER_TICK; 0 = off)', 0, 0),
    PUMP_INSTANCE_ID: Str('Stable pump instance id; it listens on COMMAND_TOPIC/<id>'),
    // --- simulator (seed 001)
    STORE_HEIGHT: Int('Accepted for compatibility (unused in the original); see README', 10, 1),
    STORE_WIDTH: Int('Accepted for compatibility (unused in the original); see README', 6, 1),
    CUSTOMERS_AVERAGE_IN_STORE: Num('Average number of shoppers in the store', 6, 0),
    CUSTOMERS_LIST_FILE: Str('CSV of customers (customer_id,gender,age...) to draw shoppers from; default the cache DB', 'customers.csv'),
    CONSUME_FREQUENCY: Num('Seconds between timeline checks', 1, 0.001),
    CONSUME_FROM: Type.String({
      description: 'Where the timeline starts: earliest, latest or an ISO-8601 time',
      default: 'latest',
      pattern: '^(earliest|latest|\\d{4}-\\d{2}-\\d{2}.*)$',
    }),
    CONSUME_BATCH_SIZE: Int('Timeline events taken per check', 10, 1),
    SIM_SPEED: Num('Simulated seconds per real second (60 = an hour a minute)', 1, 0.001),
    SIMULATOR_AUTO_START: Bool('Start the simulator when the service starts', true),
    STALE_EVENTS: Enum('Timeline events older than the current batch window: publish (late) or drop', ['publish', 'drop'], 'publish'),
    // --- gateway (seed 004)
    STREAM_PORT: Int('Public WebSocket port', 8080, 0, 65535),
    STREAM_API_PORT: Int('Internal event-stream API port', 8081, 0, 65535),
    ESS_API_TOKEN: Str('Bearer token required by the internal API (unset = none)'),
    ESS_INGRESS_LOCATION: Str('Host[:port] put in stream locations (default localhost:STREAM_PORT)'),
    ESS_INGRESS_SECURE: Bool('Locations use wss:// instead of ws://', false),
    STREAM_CLIENT_BUFFER: Int('Messages buffered per WebSocket client before it is dropped as too slow', 10000, 10),
    AMQP_URL: Url('RabbitMQ source: events published to the event-streams exchange are logged and streamed', ['amqp', 'amqps']),
    ESS_AMPQ_URL: Url("Alias of AMQP_URL (seed 004's name, spelled as there)", ['amqp', 'amqps']),
    AMQP_EXCHANGE: Type.String({
      description: 'RabbitMQ exchange the gateway consumes (seed 004: event-streams)',
      default: 'event-streams',
      minLength: 1,
      maxLength: 255,
    }),
    AMQP_EXCHANGE_TYPE: Enum(
      "direct = as seed 004's publisher declares it (the gateway binds each event stream's routing key); topic = bind # and log every message",
      ['direct', 'topic'],
      'direct',
    ),
  },
  { additionalProperties: true },
);

export type Env = Record<string, string | undefined>;

/** Variables whose value must never reach a log line. */
export const SECRET_VARIABLES = ['MQTT_PASSWORD', 'ESS_API_TOKEN', 'CONTROL_TOKEN', 'DATABASE_URL', 'AMQP_URL', 'ESS_AMPQ_URL', 'MQTT_URL'];

export interface Topics {
  enter: string;
  move: string;
  exit: string;
  focus: string;
  browsing: string;
  redemption: string;
  prediction: string;
  command: string;
  deadLetter: string;
}

/** Kafka settings (seed 003's variables and storeflow's own). */
export interface KafkaConfig {
  brokers: string[];
  /** CLIENT_ID: the client.id label. */
  clientId: string;
  /** GROUP_ID: the consumer group of the input topics. */
  groupId: string;
  /** POLL_TIMEOUT: fetch.max.wait.ms. */
  pollTimeoutMs: number;
  autoOffsetReset: 'earliest' | 'latest' | 'none';
  /** Partitions of the topics storeflow creates. */
  partitions: number;
  sessionTimeoutMs: number;
}

/** Kafka topic names: at most 249 of [a-zA-Z0-9._-]. */
export const KAFKA_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export interface Config {
  roles: Role[];
  port: number;
  host: string;
  home: string;
  /** CONTROL_TOKEN: the control plane requires it when set (adapters/process/access.ts). */
  controlToken?: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  logFile: string;
  inspect: string;
  databaseUrl?: string;
  pgPort: number;
  databaseSchema: string;
  autoSeed: boolean;
  seed: number;
  mqtt: {
    /** The message transport: an embedded or external MQTT broker, none (outputs logged), or Kafka (BOOTSTRAP_SERVERS). */
    mode: 'embedded' | 'external' | 'none' | 'kafka';
    urls: string[];
    port: number;
    username?: string;
    password?: string;
    caFile?: string;
    clientId: string;
    protocolVersion: 3 | 4 | 5;
    connectTimeoutMs: number;
    group?: string;
    maxPacketBytes: number;
  };
  /** Set by BOOTSTRAP_SERVERS: every topic goes through Kafka (mqtt.mode is then 'kafka'). */
  kafka?: KafkaConfig;
  topics: Topics;
  messageFormat: 'flat' | 'envelope';
  maxPayloadBytes: number;
  recommender: {
    scorerUrl?: string;
    scorerTimeoutMs: number;
    maxCoupons: number;
    threshold: number;
    couponValidity: 'check' | 'ignore';
    idleTimeoutS: number;
    modelFile: string;
  };
  detector: { focusMinMoves: number; browsingMinMoves: number; browsingRadius: number };
  pump: {
    minCustomerId: number;
    maxCustomerId: number;
    intervalS: number;
    autoStart: boolean;
    eventsPerTick: number;
    rate: number;
    instanceId: string;
  };
  simulator: {
    storeHeight: number;
    storeWidth: number;
    averageInStore: number;
    customersFile: string;
    consumeFrequencyS: number;
    consumeFrom: string;
    batchSize: number;
    speed: number;
    autoStart: boolean;
    staleEvents: 'publish' | 'drop';
  };
  gateway: {
    streamPort: number;
    apiPort: number;
    apiToken?: string;
    ingressLocation?: string;
    ingressSecure: boolean;
    clientBuffer: number;
    amqpUrl?: string;
    amqpExchange: string;
    amqpExchangeType: 'direct' | 'topic';
  };
  warnings: string[];
}

const BOOLEAN_KEYS = Object.entries(EnvSchema.properties)
  .filter(([, s]) => (s as TSchema).type === 'boolean')
  .map(([k]) => k);
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Validate and resolve the environment. Empty strings count as unset. */
export function parseConfig(env: Env): ConfigResult {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const v = env[key];
    if (v === undefined || v.trim() === '') continue;
    const text = v.trim();
    if (BOOLEAN_KEYS.includes(key)) {
      const l = text.toLowerCase();
      if (TRUE.has(l)) raw[key] = true;
      else if (FALSE.has(l)) raw[key] = false;
      else raw[key] = text; // reported below as not a boolean
    } else if (
      key === 'LOG_LEVEL' ||
      key === 'MESSAGE_FORMAT' ||
      key === 'COUPON_VALIDITY' ||
      key === 'AUTO_OFFSET_RESET' ||
      key === 'STALE_EVENTS' ||
      key === 'AMQP_EXCHANGE_TYPE' ||
      (key === 'CONSUME_FROM' && /^(earliest|latest)$/i.test(text))
    ) {
      // seed 001's player took any case
      raw[key] = text.toLowerCase();
    } else raw[key] = text;
  }
  const value = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw)) as Record<string, any>;
  const seen = new Set<string>();
  for (const e of Value.Errors(EnvSchema, value)) {
    const key = e.path.replace(/^\//, '').split('/')[0];
    if (seen.has(key)) continue;
    seen.add(key);
    const given = raw[key];
    // a secret's value is never echoed, not even a wrong one
    problems.push(`${key}: ${describe(e.schema)}${given === undefined || SECRET_VARIABLES.includes(key) ? '' : `, got ${JSON.stringify(env[key])}`}`);
  }
  const alias = (a: string, b: string, def: string) => {
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
    host: value.HOST,
    home: value.STOREFLOW_HOME,
    controlToken: value.CONTROL_TOKEN,
    logLevel: level === 'warning' ? 'warn' : level === 'critical' ? 'fatal' : (level as Config['logLevel']),
    logFile: value.LOG_FILENAME,
    inspect: value.XSTATE_INSPECT,
    databaseUrl: value.DATABASE_URL,
    pgPort: value.PG_PORT,
    databaseSchema: value.DATABASE_SCHEMA,
    autoSeed: value.AUTO_SEED,
    seed: value.SEED,
    mqtt: {
      mode: kafka ? 'kafka' : noMqtt ? 'none' : urls.length ? 'external' : 'embedded',
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
    },
    detector: { focusMinMoves: value.FOCUS_MIN_MOVES, browsingMinMoves: value.BROWSING_MIN_MOVES, browsingRadius: value.BROWSING_RADIUS },
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

function describe(schema: TSchema): string {
  if (schema.anyOf) return `expected one of ${schema.anyOf.map((s: TSchema) => s.const).join(', ')}`;
  if (schema.type === 'boolean') return 'expected true or false';
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'an integer' : 'a number';
    const max = schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? ` and ${schema.maximum}` : '';
    return max ? `expected ${kind} between ${schema.minimum}${max}` : `expected ${kind} >= ${schema.minimum}`;
  }
  if (schema.pattern) return `expected a value matching ${schema.pattern}`;
  if (schema.minLength !== undefined) return `expected at least ${schema.minLength} characters`;
  return `invalid value (${schema.description ?? 'see .env.example'})`;
}

/** Parse or throw: for tests and scripts that build a config from a partial environment. */
export function configFrom(env: Env): Config {
  const r = parseConfig(env);
  if (!r.ok) throw new Error(`invalid configuration: ${r.problems.join('; ')}`);
  return r.config;
}
