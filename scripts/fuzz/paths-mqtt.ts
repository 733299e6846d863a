/**
 * The MQTT input topics: hostile payloads published at QoS 1 by one sender, and (embedded broker) PUBLISH
 * packets announcing more than the broker's limit, each on a connection of its own.
 */
import { connect } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { hostileBody, pickKind, type Body, type Json } from './inputs.ts';
import { show, type FuzzPath, type Outcome, type PathContext } from './run.ts';
import { FIELDS } from './templates.ts';
import { remainingLength } from '../../adapters/edges/mqtt-packet-guard.ts';

export interface Broker {
  url: string;
  mode: 'embedded' | 'external' | 'none';
  username?: string;
  password?: string;
  /** storeflow's MAX_PAYLOAD_BYTES. */
  maxPayloadBytes: number;
  /** The client ids' prefix. */
  tag: string;
}

/** One sender for every worker (one client id: a second connection would take the first one's session over). */
export class MqttSender {
  private client?: Promise<MqttClient>;
  constructor(private broker: Broker) {}

  connect(): Promise<MqttClient> {
    const url = new URL(this.broker.url.replace(/^tcp:/, 'mqtt:'));
    this.client ??= mqtt
      .connectAsync(`${url.protocol}//${url.host}`, {
        clientId: `${this.broker.tag}_sender`,
        protocolVersion: 4,
        reconnectPeriod: 500,
        connectTimeout: 5000,
        clean: true,
        username: this.broker.username ?? (decodeURIComponent(url.username) || undefined),
        password: this.broker.password ?? (decodeURIComponent(url.password) || undefined),
      })
      .then(
        (c) => {
          c.on('error', () => {});
          return c;
        },
        (err) => {
          this.client = undefined;
          throw err;
        },
      );
    return this.client;
  }

  async end(): Promise<void> {
    await this.client?.then(
      (c) => c.end(true),
      () => {},
    );
  }
}

/** A PUBLISH whose header announces `announced` bytes, on a connection of its own: the broker must close it early. */
function oversizedPacket(broker: Broker, announced: number, topic: string, timeoutMs: number): Promise<Outcome> {
  return new Promise((ok) => {
    const url = new URL(broker.url.replace(/^tcp:/, 'mqtt:'));
    const socket = connect({ host: url.hostname, port: Number(url.port || 1883) });
    let sent = 0,
      closed = false;
    const timer = setTimeout(() => {
      socket.destroy();
      ok('hang');
    }, timeoutMs);
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      ok(sent <= 8 * 1024 * 1024 ? 'refused' : 'hang');
    });
    socket.on('connect', async () => {
      const id = Buffer.from(`${broker.tag}_big_${announced}`);
      const cbody = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 0x02, 0, 60, 0, id.length]), id]);
      socket.write(Buffer.concat([Buffer.from([0x10, cbody.length]), cbody]));
      const len = remainingLength(announced);
      const t = Buffer.from(topic);
      socket.write(Buffer.concat([Buffer.from([0x30, ...len]), Buffer.from([t.length >> 8, t.length & 255]), t]));
      const chunk = Buffer.alloc(64 * 1024, 0x7b);
      // as much as the limit allows and more, but never the whole announced packet
      try {
        while (!closed && sent < Math.min(announced - 1, 16 * 1024 * 1024)) {
          if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), sleep(100)]);
          sent += chunk.length;
        }
      } catch {
        /* the broker cut the connection: what we want */
      }
    });
  });
}

export function mqttPath(c: PathContext, sender: MqttSender, broker: Broker, label: string, topic: string, template: Record<string, Json>): FuzzPath {
  return {
    name: `mqtt ${label}`,
    run: (stats, rng) =>
      c.each(stats, c.count, c.concurrency * 4, async (i) => {
        const r = rng.fork(i);
        let kind = pickKind(r);
        // a packet above the embedded broker's limit (an external broker's limit is its own configuration)
        if (kind === 'oversized' && r.chance(0.5) && broker.mode === 'embedded') {
          const announced = r.pick([8, 50, 100, 255]) * 1024 * 1024;
          const outcome = await oversizedPacket(broker, announced, topic, c.timeoutMs);
          return [outcome, () => `a PUBLISH announcing ${announced} bytes → ${outcome === 'hang' ? 'not closed by the broker' : 'closed'}`];
        }
        const envelope = r.chance(0.15) && label !== 'command';
        const base = envelope ? { event_type: `${label} event`, event_timestamp: new Date(c.now * 1000).toISOString(), payload: template } : template;
        const body: Body =
          label === 'command' && r.chance(0.2)
            ? { kind: 'valid', bytes: Buffer.from(r.pick(['START', 'stop', ' STOP ', 'halt', '', '\u0000', 'S\u0000TOP'])) }
            : hostileBody(r, base as Record<string, Json>, { limit: broker.maxPayloadBytes, fields: FIELDS }, kind);
        kind = body.kind;
        const client = await sender.connect().catch(() => undefined);
        if (!client) return ['hang', () => 'could not connect to the broker'];
        const res = await Promise.race([
          client.publishAsync(topic, body.bytes, { qos: 1 }).then(
            () => 'ok' as const,
            (err: Error) => `error: ${err.message}`,
          ),
          sleep(c.timeoutMs).then(() => 'hang' as const),
        ]);
        // the broker acknowledges; what storeflow made of it shows in its log (error lines count as 5xx)
        return [res === 'ok' ? 'ok' : res === 'hang' ? 'hang' : 'reset', () => `#${i} ${kind} ${show(body.bytes)} → ${res}`];
      }),
  };
}
