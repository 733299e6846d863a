/**
 * The Config storeflow runs on: the environment resolved (aliases joined, defaults applied, strings
 * turned into the values each part uses). Every part of the process reads this, never the environment.
 */
import type { Role } from './process.ts';

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

/** OpenTelemetry traces (OTEL_* variables): present when an OTLP endpoint is set and tracing is not turned off. */
export interface TracingConfig {
  /** Where spans are posted (OTLP/HTTP). */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  sampler: 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
  ratio: number;
  serviceName: string;
  scheduleDelayMs: number;
}

/** The variables that set a port a storeflow process listens on. */
export type PortVariable = 'PORT' | 'STREAM_PORT' | 'STREAM_API_PORT' | 'MQTT_PORT' | 'PG_PORT';

export interface Config {
  roles: Role[];
  port: number;
  /** The port variables set in the environment: those never fall back to another port when theirs is taken (a default does). */
  portsSet: PortVariable[];
  host: string;
  home: string;
  /** CONTROL_TOKEN: the control plane requires it when set (adapters/process/access.ts). */
  controlToken?: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  logFile: string;
  inspect: string;
  /** Where the event log is: PostgreSQL, or memory (no database: adapters/process/storage.ts). */
  eventLog: 'postgres' | 'memory';
  databaseUrl?: string;
  pgPort: number;
  databaseSchema: string;
  autoSeed: boolean;
  seed: number;
  /**
   * The message transport, a choice of its own: Kafka (BOOTSTRAP_SERVERS set), none (TESTING_NO_MQTT or
   * TESTING_MOCK_MQTT: outputs logged, nothing published), MQTT otherwise (adapters/process/transports.ts).
   */
  transport: 'mqtt' | 'kafka' | 'none';
  mqtt: {
    /** Where the MQTT broker is (when the transport is MQTT): embedded in this process, or external (MQTT_URL / MQTT_HOST). */
    mode: 'embedded' | 'external';
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
  /** Set by BOOTSTRAP_SERVERS: every topic goes through Kafka (transport is then 'kafka'). */
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
    /** POLICY: the redemption model (threshold PREDICTION_THRESHOLD) or the uplift policy (threshold MIN_EXPECTED_MARGIN). */
    policy: 'model' | 'uplift';
    minExpectedMargin: number;
    upliftModelFile: string;
    explorationRate: number;
    /** DISCOUNT_BUDGET × DISCOUNT_BUDGET_SHARE: the discount this process may offer per UTC day of event time (0: none). */
    discountBudget: number;
    discountBudgetShare: number;
  };
  detector: { focusMinMoves: number; browsingMinMoves: number; browsingRadius: number };
  tracing?: TracingConfig;
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

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };
