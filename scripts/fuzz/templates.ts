/** Valid inputs the hostile bodies are made from (a template per POST route), and the field names they may use. */
import type { Json } from './inputs.ts';

/** The template of each POST route of the control plane; `now` is the run's start in seconds since the epoch. */
export function postTemplates(now: number): [RegExp, Record<string, Json>][] {
  return [
    [/\/mock_focus$/, { id: '1', ts: now, dep: 'Men' }],
    [/\/(mock_entry|produce_entry|produce_exit)$/, { id: '1', ts: now }],
    [/\/produce_move$/, { id: '1', ts: now, x: 500, y: 500 }],
    [
      /\/scenario$/,
      {
        customer: { customer_id: '7' },
        path: [
          { type: 'ENTER', location: { x: 10, y: 10 }, timestamp: now },
          { type: 'MOVE', location: { x: 300, y: 300 }, timestamp: now + 5 },
          { type: 'EXIT', location: { x: 10, y: 10 }, timestamp: now + 10 },
        ],
      },
    ],
    [
      /\/scenario_draft$/,
      {
        customer: { customer_id: '7' },
        path: [
          { type: 'move', location: { x: 10, y: 10 } },
          { type: 'focus', location: { x: 300, y: 300 } },
        ],
      },
    ],
    [
      /\/score$/,
      {
        customer: {
          customer_id: 1,
          gender: 'F',
          age: 30,
          mean_buy_price: 10,
          total_coupons_used: 1,
          mean_discount_received: 5,
          unique_products_bought: 3,
          unique_products_bought_with_coupons: 1,
          total_items_bought: 4,
        },
        coupons: [
          {
            coupon_id: 1,
            coupon_type: 'just_discount',
            department: 'Men',
            discount: 10,
            how_many_products_required: 1,
            product_mean_price: 10,
            products_available: 3,
          },
        ],
      },
    ],
    [/\/dashboard\/helped$/, { customer_id: '1' }],
    [/\/pump\/settings$/, { rate: 5 }],
    [/\/simulator\/settings$/, { speed: 2 }],
    [/\/settings$/, { rate: 5 }],
  ];
}

export const FIELDS = [
  'id',
  'ts',
  'x',
  'y',
  'dep',
  'customer_id',
  'customer',
  'path',
  'type',
  'location',
  'timestamp',
  'rate',
  'events_per_tick',
  'interval_s',
  'speed',
  'averageInStore',
  'batchSize',
  'consumeFrequency',
  'staleEvents',
  'coupons',
  'routing_key',
  'event_type',
  'payload',
  'command',
  '__proto__',
  'constructor',
];
