/**
 * MQTT packets above a size limit, refused before they are buffered. The embedded broker's parser
 * (mqtt-packet, under aedes) has no size limit: it keeps every byte of a packet until the packet is
 * complete, so a 100 MB PUBLISH cost ~570 MB before MAX_PAYLOAD_BYTES could refuse it. The guard
 * follows packet boundaries in the bytes as the broker reads them and closes the connection as soon
 * as a fixed header announces more than the limit (MQTT 3.1.1 has no other answer; Mosquitto's
 * max_packet_size does the same). The limit is MQTT_MAX_PACKET_BYTES: inputs are still held to
 * MAX_PAYLOAD_BYTES by the pipeline, but storeflow publishes larger messages itself (a department
 * coupon lists every product of its department, ~160 KB on the generated store).
 */
import type { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';
import type { Config } from '../../schemas/env.ts';

/** The packet size limit of the embedded broker and of storeflow's clients (every MQTT version). */
export function mqttPacketLimit(config: Config): number {
  return config.mqtt.maxPacketBytes;
}

/** MQTT's remaining length as it goes on the wire: a variable byte integer, 7 bits a byte (what PacketSizeTracker reads). */
export function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/**
 * Follows MQTT packet boundaries across chunks: a fixed header byte, the remaining length
 * (a variable byte integer of 1-4 bytes), then that many bytes.
 */
export class PacketSizeTracker {
  private state: 'header' | 'length' | 'body' | 'lost' = 'header';
  private remaining = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private left = 0;
  constructor(readonly limit: number) {}

  /** Feeds the next bytes; returns the size of the first packet above the limit (header included), or -1. */
  feed(chunk: Uint8Array): number {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'lost':
          return -1; // a malformed length: the broker's parser closes the connection
        case 'body': {
          const n = Math.min(this.left, chunk.length - i);
          this.left -= n;
          i += n;
          if (this.left === 0) this.state = 'header';
          break;
        }
        case 'header':
          i++;
          this.state = 'length';
          this.remaining = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case 'length': {
          const b = chunk[i++];
          this.remaining += (b & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (b & 0x80) {
            if (this.lengthBytes === 4) this.state = 'lost';
            break;
          }
          const size = 1 + this.lengthBytes + this.remaining;
          if (size > this.limit) return size;
          this.left = this.remaining;
          this.state = this.left === 0 ? 'header' : 'body';
          break;
        }
      }
    }
    return -1;
  }
}

/**
 * Watches what the broker reads from `socket` (attach after the broker has taken the socket: its
 * 'readable' listener keeps the stream paused, and 'data' then reports each chunk it reads) and
 * destroys the socket when a packet announces more than `limit` bytes. The broker has seen at
 * most one read's worth of the packet (the socket's buffer), never the whole of it.
 */
export function guardPacketSize(socket: Duplex, limit: number, refused: (bytes: number) => void): void {
  const tracker = new PacketSizeTracker(limit);
  const onData = (chunk: Buffer) => {
    const size = tracker.feed(chunk);
    if (size < 0) return;
    socket.off('data', onData);
    refused(size);
    socket.destroy();
  };
  socket.on('data', onData);
}

/**
 * The same guard on what an mqtt.js client reads from its broker. mqtt.js's parser has no size limit
 * either, and only MQTT 5 can tell the broker a maximum (CONNECT maximumPacketSize): an MQTT 3.1.1
 * broker, or one that ignores it, could make the client buffer a packet of any size. mqtt.js builds
 * a new stream (its public `client.stream`) at the start and on every reconnect, synchronously right
 * after 'reconnect'; no byte can arrive on it before the next tick, so the guard sees every byte from
 * the first. A refused packet closes the connection; mqtt.js then reconnects as after any loss.
 */
export function guardClientPacketSize(client: MqttClient, limit: number, refused: (bytes: number) => void): void {
  const guard = () => guardPacketSize(client.stream as Duplex, limit, refused);
  guard();
  client.on('reconnect', () => process.nextTick(guard));
}
