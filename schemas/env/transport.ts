/**
 * The message transport's variables: the MQTT broker (embedded or external), the topic names with the
 * seeds' aliases, the message format and size limit, and Kafka (BOOTSTRAP_SERVERS set = Kafka for every
 * topic instead of MQTT). Every role's inputs and outputs go through what these name.
 */
import { Bool, Enum, Int, Num, Str, Url } from './fields.ts';

export const MQTT_VARIABLES = {
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
};

/** Topic names (the seeds' aliases are resolved in derive.ts), the output format and the input size limit. */
export const TOPIC_VARIABLES = {
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
};

/** Kafka (seed 003): set BOOTSTRAP_SERVERS and every role's inputs and outputs go through Kafka instead of MQTT. */
export const KAFKA_VARIABLES = {
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
};
