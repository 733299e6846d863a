/**
 * PUBACK once the input is logged, without stalling the next messages. mqtt.js sends a QoS 1
 * message's PUBACK right after the 'message' event and reads no further packet until it is sent;
 * its public `customHandleAcks` hook delays the 'message' event itself, so inputs would be handled
 * one at a time. No public hook lets the PUBACK wait while the next messages go on, so this module
 * wraps the client's private `_sendPacket` — the one place storeflow touches mqtt.js internals.
 * test/mqtt-deferred-ack.test.ts fails if mqtt.js changes under it.
 */
import type { MqttClient } from 'mqtt';

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/**
 * From now on, a PUBACK for a message id with work in `pending` is sent only when that work
 * resolves (and the client is still connected); if it rejects, no PUBACK: the broker delivers the
 * message again. mqtt.js goes on reading packets at once. Acks keep arrival order when the work
 * resolves in order (the event log resolves appends in order).
 */
export function deferPubacks(client: MqttClient, pending: Map<number, Promise<unknown>>, onUnacked: (messageId: number, err: unknown) => void): void {
  const internal = client as unknown as { _sendPacket?: SendPacket };
  if (typeof internal._sendPacket !== 'function')
    throw new Error(
      'mqtt.js has no _sendPacket: storeflow cannot hold PUBACKs until inputs are logged (mqtt.js changed; see adapters/edges/mqtt-deferred-ack.ts)',
    );
  const send = internal._sendPacket.bind(client);
  internal._sendPacket = (packet, cb, ...rest) => {
    const work = packet.cmd === 'puback' && packet.messageId !== undefined ? pending.get(packet.messageId) : undefined;
    const messageId = packet.messageId;
    if (!work || messageId === undefined) return send(packet, cb, ...rest);
    pending.delete(messageId);
    cb?.(); // lets mqtt.js read the next packet now
    work.then(
      () => {
        if (client.connected) send(packet, undefined, ...rest);
      },
      (err) => onUnacked(messageId, err),
    );
  };
}
