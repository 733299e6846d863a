/**
 * Each role's own settings: the recommender's scoring, the detector's rules, the pump (seed 000), the
 * simulator (seed 001) and the gateway (seed 004). A role's group is all it reads beyond the process
 * and the transport.
 */
import { Type } from '@sinclair/typebox';
import { Bool, Enum, Int, Num, Str, Url } from './fields.ts';

export const RECOMMENDER_VARIABLES = {
  COUPON_SCORER_URL: Url('Remote prediction service (seed 003 protocol); unset = in-process model', ['http', 'https']),
  COUPON_SCORER_TIMEOUT: Int('Remote scorer timeout in milliseconds', 2000, 1),
  MAX_COUPONS_PER_CALL: Int('Coupons kept after scoring', 5, 1),
  PREDICTION_THRESHOLD: Num('Minimum score for a coupon to be offered', 0.2, 0, 1),
  COUPON_VALIDITY: Enum("check = only coupons valid on the event's date; ignore = any date", ['check', 'ignore'], 'check'),
  SESSION_IDLE_TIMEOUT: Int('Seconds of event time after which a forgotten session ends', 7200, 1),
  MODEL_FILE: Str('Coupon model JSON (default: the committed model)', ''),
  POLICY: Enum(
    "model = offer the redemption model's best coupon above PREDICTION_THRESHOLD; uplift = the highest expected incremental margin above MIN_EXPECTED_MARGIN (docs/quality.md)",
    ['model', 'uplift'],
    'model',
  ),
  MIN_EXPECTED_MARGIN: Num('POLICY=uplift: minimum expected incremental margin (currency units) for a coupon to be offered', 0, -1_000_000),
  UPLIFT_MODEL_FILE: Str('POLICY=uplift: uplift model JSON (default: the committed one)', ''),
  EXPLORATION_RATE: Num('Share of focuses explored (half offered nothing, half a random eligible coupon), each decision logged with its probability', 0, 0, 1),
  DISCOUNT_BUDGET: Num(
    "Total discount (the sum of the offered coupons' discount values, in percent points) a store may offer per UTC day of event time, for every policy; 0 = no budget (docs/quality.md)",
    0,
    0,
  ),
  DISCOUNT_BUDGET_SHARE: Num('Share of DISCOUNT_BUDGET this process enforces: with N replicas give each 1/N (replicas do not coordinate)', 1, 0, 1),
};

export const DETECTOR_VARIABLES = {
  FOCUS_MIN_MOVES: Int('Consecutive moves inside one department that make a focus', 3, 1),
  BROWSING_MIN_MOVES: Int('Consecutive moves outside every department that make a browsing event', 6, 1),
  BROWSING_RADIUS: Num(
    'Plan units: a browsing needs its BROWSING_MIN_MOVES moves within this distance of the last of them (lingering, not walking between departments); 0 = no limit',
    150,
    0,
  ),
};

export const PUMP_VARIABLES = {
  MIN_CUSTOMER_ID: Int('Smallest customer id the pump draws', 1, 0),
  MAX_CUSTOMER_ID: Int('Largest customer id the pump draws', 1000, 0),
  PERIODIC_TASKS_INTERVAL: Num('Seconds between pump ticks', 1, 0.001),
  GENERATOR_AUTO_START: Bool('Start the pump when the service starts', true),
  EVENTS_PER_TICK: Int('Focus events the pump publishes per tick', 1, 1),
  PUMP_RATE: Num('Target pump rate in events/s (overrides EVENTS_PER_TICK; 0 = off)', 0, 0),
  PUMP_INSTANCE_ID: Str('Stable pump instance id; it listens on COMMAND_TOPIC/<id>'),
};

export const SIMULATOR_VARIABLES = {
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
};

export const GATEWAY_VARIABLES = {
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
};
