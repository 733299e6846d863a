/**
 * The soak's ears: `Wire`, a plain MQTT client of the soak's own broker (QoS 1, clean=false, its own
 * client id), listens on the prediction topic and notes, per focus, the coupon offered and when it came;
 * and what the broker still holds ($SYS).
 */
import type { MqttClient } from 'mqtt';
import { KIND, inputKey, type Ledger } from './soak-ledger.ts';
import { client, type Note } from './soak-mqtt.ts';

/** The prediction topic as a consumer sees it. */
export class Wire {
  private client?: MqttClient;
  /** Arrival times (ms since the run's start) of every prediction. */
  arrivals: number[] = [];
  received = 0;
  /** The same prediction again (at-least-once redelivery). */
  copies = 0;
  /** A second, different prediction for a focus: sequence numbers of those focuses. */
  readonly conflicts = new Set<number>();
  /** Predictions that match no published focus, or could not be read. */
  unknown = 0;
  /** Distinct focuses with a prediction on the wire. */
  focuses = 0;
  /** Messages the broker holds (queued or in flight to some client), from $SYS; -1 until heard. */
  brokerHolds = -1;
  /** Bytes of predictions received. */
  bytes = 0;
  /** Per answered focus: ms from its publication to its first prediction on the wire. */
  latencies: number[] = [];

  constructor(
    private url: string,
    private topic: string,
    private ledger: Ledger,
    private now: () => number,
    private note: Note,
  ) {}

  async start(clientId: string): Promise<void> {
    const ids = new Map(this.ledger.customerIds.map((id, i) => [id, i]));
    this.client = await client(this.url, clientId, this.note);
    this.client.on('message', (topic, payload) => {
      if (topic === STORE_COUNT) {
        this.brokerHolds = Number(payload.toString());
        return;
      }
      const now = this.now();
      this.arrivals.push(now);
      this.received++;
      this.bytes += payload.length;
      const p = readPrediction(payload);
      if (!p) {
        this.unknown++;
        return;
      }
      const customer = ids.get(p.customer);
      const coupon = p.coupon;
      const i = customer === undefined ? undefined : this.ledger.byKey.get(inputKey(customer, p.ts));
      if (i === undefined || this.ledger.kind[i] !== KIND.focus || !Number.isInteger(coupon) || coupon <= 0) {
        this.unknown++;
        return;
      }
      const seen = this.ledger.wireCoupon[i];
      if (seen === 0) {
        this.ledger.wireCoupon[i] = coupon;
        this.focuses++;
        this.latencies.push(now - this.ledger.at[i]);
      } else if (seen === coupon) this.copies++;
      else this.conflicts.add(i);
    });
    await this.client.subscribeAsync(this.topic, { qos: 1 });
    await this.client.subscribeAsync(STORE_COUNT, { qos: 0 });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => {});
  }
}

const STORE_COUNT = '$SYS/broker/store/messages/count';

const HEAD = /^\{"customer":\{"id":"([^"]+)"\},"coupon":\{"id":(\d+)[,}]/;
const TAIL = /"ts":(\d+)\}$/;

/**
 * Customer, coupon and focus second of a prediction: flat (seed 002, `{"customer":{"id":…},"coupon":{"id":…,…},"ts":…}`)
 * or envelope (seed 003, `{"event_type":"prediction result","event_timestamp":ISO,"payload":{"customer_id","coupon_id",…}}`).
 * A flat department coupon lists its ~600 products (~100 KB), so its ends are read, not the whole payload.
 */
export function readPrediction(payload: Buffer): { customer: string; coupon: number; ts: number } | undefined {
  const head = HEAD.exec(payload.toString('latin1', 0, Math.min(payload.length, 200)));
  const tail = TAIL.exec(payload.toString('latin1', Math.max(0, payload.length - 40)));
  if (head && tail) return { customer: head[1], coupon: Number(head[2]), ts: Number(tail[1]) };
  try {
    const p = JSON.parse(payload.toString());
    if (p?.event_type === 'prediction result') {
      const ms = Date.parse(p.event_timestamp);
      const coupon = Number(p.payload?.coupon_id);
      if (Number.isNaN(ms) || !Number.isInteger(coupon)) return undefined;
      return { customer: String(p.payload?.customer_id), coupon, ts: Math.floor(ms / 1000) };
    }
    const coupon = Number(p?.coupon?.id);
    if (typeof p?.ts !== 'number' || !Number.isInteger(coupon)) return undefined;
    return { customer: String(p.customer?.id), coupon, ts: Math.floor(p.ts) };
  } catch {
    return undefined;
  }
}
