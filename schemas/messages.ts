/**
 * Every message storeflow reads or writes, as typebox schemas (REFERENCE.md §1, §5, §6).
 * `npm run schemas` exports them as JSON Schema into schemas/json/.
 */
import { Type, type Static } from '@sinclair/typebox';

const CustomerId = Type.Union([Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }), Type.Integer({ minimum: 0 })], {
  description: 'Customer id; a string or an integer, normalised to a string',
});
/** 9999-12-31T23:59:59Z in milliseconds: the latest time a timestamp may name (the log and JavaScript dates hold it). */
export const MAX_TIMESTAMP_MS = 253402300799999;
const Timestamp = Type.Number({
  minimum: 0,
  maximum: MAX_TIMESTAMP_MS,
  description: 'Unix time in seconds (int or float); values above 2e10 are read as milliseconds; at most the year 9999',
});
const Coordinate = Type.Number({ minimum: -1e6, maximum: 1e6, description: 'Store plan units, origin top-left, y down' });
const DepartmentName = Type.String({
  minLength: 1,
  maxLength: 32,
  description: "Department: Men, Women, Boys, Girls, Sport (aliases such as Sports, Boy's accepted)",
});

// --- flat format (seed 002, default on MQTT)
export const EntryEvent = Type.Object(
  { id: CustomerId, ts: Timestamp },
  { $id: 'customer_entry_flat', title: 'Entry event (flat)', examples: [{ id: '127', ts: 192322800 }] },
);
export const ExitEvent = Type.Object({ id: CustomerId, ts: Timestamp }, { $id: 'customer_exit_flat', title: 'Exit event (flat)' });
export const MoveEvent = Type.Object(
  { id: CustomerId, ts: Timestamp, x: Coordinate, y: Coordinate },
  { $id: 'customer_move_flat', title: 'Move event (flat)', examples: [{ id: '127', ts: 192322800, x: 588, y: 454 }] },
);
export const FocusEvent = Type.Object(
  {
    id: CustomerId,
    ts: Timestamp,
    dep: DepartmentName,
    x: Type.Optional(Coordinate),
    y: Type.Optional(Coordinate),
  },
  { $id: 'customer_focus_flat', title: 'Focus event (flat)', examples: [{ id: '127', ts: 192322800, dep: 'Boys' }] },
);
export const BrowsingEvent = Type.Object(
  {
    id: CustomerId,
    ts: Timestamp,
    x: Coordinate,
    y: Coordinate,
    dep: Type.Optional(DepartmentName),
  },
  { $id: 'customer_browsing_flat', title: 'Browsing event (detector output)' },
);

// --- envelope format (seed 003 and seed 002's mock-endpoint examples)
export const RedemptionEvent = Type.Object(
  {
    id: CustomerId,
    ts: Timestamp,
    coupon_id: Type.Integer({ minimum: 1, maximum: 2147483647, description: 'the offered coupon' }),
    amount: Type.Number({ minimum: 0, maximum: 1e9, description: "what the shopper paid for the coupon's items, discount deducted" }),
  },
  {
    $id: 'customer_redemption_flat',
    title: "Redemption event (simulator output: a shopper used an offered coupon; ts is the offer's)",
    examples: [{ id: '127', ts: 192322800, coupon_id: 22, amount: 18.45 }],
  },
);

export const ENVELOPE_TYPES = {
  'customer entry': 'entry',
  'entry event': 'entry',
  'customer exit': 'exit',
  'exit event': 'exit',
  'customer move': 'move',
  'move event': 'move',
  'customer focus': 'focus',
  'focus event': 'focus',
  'customer browsing': 'browsing',
  'browsing event': 'browsing',
} as const;
export const Envelope = Type.Object(
  {
    event_type: Type.Union(Object.keys(ENVELOPE_TYPES).map((k) => Type.Literal(k))),
    event_timestamp: Type.String({ minLength: 10, maxLength: 40, description: 'ISO-8601; without an offset it is read as UTC' }),
    payload: Type.Object({
      customer_id: CustomerId,
      category: Type.Optional(DepartmentName),
      department_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: '1..5 = Men, Sport, Boys, Girls, Women' })),
      x: Type.Optional(Coordinate),
      y: Type.Optional(Coordinate),
    }),
  },
  {
    $id: 'event_envelope',
    title: 'Event envelope (seed 003)',
    examples: [{ event_type: 'customer focus', event_timestamp: '2001-12-17T09:30:47.0', payload: { customer_id: 1, department_id: 1 } }],
  },
);

// --- outputs
export const Product = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    category: Type.String(),
    sizes: Type.String(),
    vendor: Type.String(),
    description: Type.String(),
    buy_price: Type.Number(),
    department: Type.String(),
  },
  { $id: 'product', additionalProperties: false },
);
export const CouponType = Type.Union([Type.Literal('buy_more'), Type.Literal('buy_all'), Type.Literal('just_discount'), Type.Literal('department')]);
export const Coupon = Type.Object(
  {
    id: Type.Integer(),
    type: CouponType,
    department: Type.String(),
    discount: Type.Number(),
    how_many: Type.Integer(),
    start_date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    end_date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    products: Type.Array(Product),
  },
  { $id: 'coupon', additionalProperties: false },
);
export const PredictionFlat = Type.Object(
  {
    customer: Type.Object({ id: Type.String() }, { additionalProperties: false }),
    coupon: Coupon,
    ts: Type.Integer(),
  },
  { $id: 'prediction_result_flat', title: 'Prediction result (flat, seed 002)', additionalProperties: false },
);
export const PredictionEnvelope = Type.Object(
  {
    event_type: Type.Literal('prediction result'),
    event_timestamp: Type.String(),
    payload: Type.Object(
      { customer_id: Type.Integer(), coupon_id: Type.Integer(), prediction: Type.Number({ minimum: 0, maximum: 1 }) },
      { additionalProperties: false },
    ),
  },
  { $id: 'prediction_result_envelope', title: 'Prediction result (envelope, seed 003)', additionalProperties: false },
);

// --- pump command (seed 000): START / STOP in any case, optionally JSON {"command": ...}
export const PumpCommand = Type.Union(
  [
    Type.String({ pattern: '^\\s*(?:[Ss][Tt][Aa][Rr][Tt]|[Ss][Tt][Oo][Pp])\\s*$' }),
    Type.Object({ command: Type.String({ pattern: '^(?:[Ss][Tt][Aa][Rr][Tt]|[Ss][Tt][Oo][Pp])$' }) }),
  ],
  { $id: 'pump_command', title: 'Pump command' },
);

// --- remote scorer protocol (REFERENCE.md §2)
export const ScoreCustomer = Type.Object({
  customer_id: Type.Union([Type.Integer(), Type.String()]),
  gender: Type.String(),
  age: Type.Number(),
  mean_buy_price: Type.Number(),
  total_coupons_used: Type.Number(),
  mean_discount_received: Type.Number(),
  unique_products_bought: Type.Number(),
  unique_products_bought_with_coupons: Type.Number(),
  total_items_bought: Type.Number(),
});
export const ScoreCoupon = Type.Object({
  coupon_id: Type.Union([Type.Integer(), Type.String()]),
  coupon_type: CouponType,
  department: Type.String(),
  discount: Type.Number(),
  how_many_products_required: Type.Number(),
  product_mean_price: Type.Number(),
  products_available: Type.Number(),
});
export const ScoreRequest = Type.Object(
  { customer: ScoreCustomer, coupons: Type.Array(ScoreCoupon, { maxItems: 10000 }) },
  { $id: 'score_request', title: 'Scoring request (original prediction service)' },
);
export const ScoreResponse = Type.Array(Type.Object({ coupon_id: Type.String(), customer_id: Type.String(), prediction: Type.Number() }), {
  $id: 'score_response',
});

// --- scenario API (REFERENCE.md §5)
const Location = Type.Object({ x: Coordinate, y: Coordinate });
export const Scenario = Type.Object(
  {
    customer: Type.Object({ customer_id: CustomerId }),
    path: Type.Array(
      Type.Object({
        type: Type.Union([Type.Literal('ENTER'), Type.Literal('MOVE'), Type.Literal('EXIT')], { description: 'Step type (case-insensitive on input)' }),
        location: Location,
        timestamp: Type.Union([Type.Number({ minimum: 0 }), Type.String({ minLength: 10, maxLength: 40 })]),
      }),
      { minItems: 1, maxItems: 10000 },
    ),
  },
  { $id: 'scenario', title: 'Scenario: a customer path with timestamps' },
);
export const ScenarioDraft = Type.Object(
  {
    customer: Type.Object({ customer_id: CustomerId }),
    path: Type.Array(
      Type.Object({
        type: Type.Union([Type.Literal('move'), Type.Literal('focus')], { description: 'Step type (case-insensitive on input)' }),
        location: Location,
      }),
      { minItems: 1, maxItems: 10000 },
    ),
  },
  { $id: 'scenario_draft', title: 'Scenario draft: a path without timestamps' },
);

export type EntryEventT = Static<typeof EntryEvent>;
export type PredictionFlatT = Static<typeof PredictionFlat>;
export type PredictionEnvelopeT = Static<typeof PredictionEnvelope>;
export type ProductT = Static<typeof Product>;
export type CouponT = Static<typeof Coupon>;
export type ScoreRequestT = Static<typeof ScoreRequest>;
export type ScenarioT = Static<typeof Scenario>;
export type ScenarioDraftT = Static<typeof ScenarioDraft>;

/** Everything `npm run schemas` exports, by file name. */
export const ALL_SCHEMAS = {
  customer_entry_flat: EntryEvent,
  customer_exit_flat: ExitEvent,
  customer_move_flat: MoveEvent,
  customer_focus_flat: FocusEvent,
  customer_browsing_flat: BrowsingEvent,
  customer_redemption_flat: RedemptionEvent,
  event_envelope: Envelope,
  prediction_result_flat: PredictionFlat,
  prediction_result_envelope: PredictionEnvelope,
  pump_command: PumpCommand,
  score_request: ScoreRequest,
  score_response: ScoreResponse,
  scenario: Scenario,
  scenario_draft: ScenarioDraft,
};
