/**
 * The MQTT transport (both sides of ./transport.ts) through mqtt.js: one client per role, QoS 1, fixed client id and
 * clean=false so a restart resumes its subscriptions. A connect that gets no CONNACK fails clearly within
 * MQTT_CONNECT_TIMEOUT.
 */
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { readFileSync } from 'node:fs';
import type { Config } from '../../schemas/env.ts';
import type { Logger } from '../process/logger.ts';
import { scrubUrl } from '../process/logger.ts';
import { deferPubacks } from './mqtt-deferred-ack.ts';
import { protectDebugOutput } from '../process/debug-output.ts';
import { guardClientPacketSize } from './mqtt-packet-guard.ts';
import type { TraceCarrier } from '../process/tracing.ts';
import type { MessageHandler, SendOptions, Transport, TransportClient } from './transport.ts';

type ServerProtocol = NonNullable<IClientOptions['servers']>[number]['protocol'];

/**
 * A connection the broker closes sooner than this after CONNACK counts towards "another client has this id": two
 * clients with one id knock each other off at the reconnect period (1 s); the incumbent's connection, older than
 * this when the newcomer arrives, does not count, so the newcomer is the one that stops.
 */
const SHORT_LIVED_MS = 2500;

export interface MqttConnectOptions {
  urls: string[];
  clientId: string;
  protocolVersion: 3 | 4 | 5;
  username?: string;
  password?: string;
  caFile?: string;
  connectTimeoutMs: number;
  clean?: boolean;
  group?: string;
  log: Logger;
  /** Another client connected with this client id and took the session (MQTT 5 DISCONNECT 0x8E): this one stops. */
  onTakenOver?: () => void;
  /** The embedded broker keeps the pipeline's own publications from it (no-local on any protocol version). */
  mode?: 'external' | 'embedded';
  /**
   * The largest packet this client accepts (MQTT_MAX_PACKET_BYTES): MQTT 5 tells the broker in CONNECT (it must not
   * send larger ones); on every version a packet whose header announces more closes the connection before it is buffered.
   */
  maximumPacketSize?: number;
}

/** Options for a role's client from the configuration (embedded broker forces MQTT 3.1.1). */
export function mqttOptions(config: Config, urls: string[], role: string, log: Logger): MqttConnectOptions {
  const m = config.mqtt;
  return {
    urls,
    clientId: `${m.clientId}-${role}`,
    protocolVersion: m.mode === 'embedded' ? 4 : m.protocolVersion,
    // the embedded broker has no users; credentials (and TLS) are for external brokers
    ...(m.mode === 'embedded' ? {} : { username: m.username, password: m.password, caFile: m.caFile }),
    connectTimeoutMs: m.connectTimeoutMs,
    group: m.group,
    log,
    mode: m.mode === 'embedded' ? 'embedded' : 'external',
    maximumPacketSize: m.maxPacketBytes,
  };
}

/**
 * The MQTT transport of this configuration: a client per role on `urls` (the embedded broker's, or MQTT_URL /
 * MQTT_HOST's). `onTakenOver` hears a role whose client another process took the session of.
 */
export function mqttTransport(config: Config, urls: string[], log: Logger, onTakenOver?: (role: string) => void): Transport {
  const o = mqttOptions(config, urls, 'pipeline', log);
  return {
    source: 'mqtt',
    // no-local: MQTT 5 (never on a shared subscription, where the spec forbids it); the embedded broker does the same
    // for the pipeline's client
    handsOffLocally: o.mode === 'embedded' || (o.protocolVersion === 5 && !o.group),
    connect: (role) =>
      connectMqtt({ ...mqttOptions(config, urls, role, log.child({ role, part: 'mqtt' })), ...(onTakenOver ? { onTakenOver: () => onTakenOver(role) } : {}) }),
  };
}

export async function connectMqtt(o: MqttConnectOptions): Promise<TransportClient> {
  const servers = o.urls.map((u) => {
    const url = new URL(u.replace(/^tcp:/, 'mqtt:').replace(/^ssl:/, 'mqtts:'));
    return {
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'mqtts:' ? 8883 : 1883)),
      protocol: url.protocol.replace(':', '') as ServerProtocol,
    };
  });
  const first = new URL(o.urls[0].replace(/^tcp:/, 'mqtt:').replace(/^ssl:/, 'mqtts:'));
  const opts: IClientOptions = {
    clientId: o.clientId,
    protocolVersion: o.protocolVersion,
    clean: o.clean ?? false,
    username: o.username ?? (decodeURIComponent(first.username) || undefined),
    password: o.password ?? (decodeURIComponent(first.password) || undefined),
    connectTimeout: o.connectTimeoutMs,
    reconnectPeriod: 1000,
    keepalive: 30,
    resubscribe: true,
    ...(servers.length > 1 ? { servers } : {}),
    ...(o.caFile ? { ca: readFileSync(o.caFile), rejectUnauthorized: true } : {}),
    ...(o.protocolVersion === 5
      ? { properties: { sessionExpiryInterval: o.clean ? 0 : 3600, ...(o.maximumPacketSize ? { maximumPacketSize: o.maximumPacketSize } : {}) } }
      : {}),
    // mqtt.js traces every packet through `debug`; even disabled, each call builds its argument list
    // (measured: ~7 KB of garbage per message). Off unless DEBUG asks for it.
    ...(/mqttjs/.test(process.env.DEBUG ?? '') ? {} : { log: () => {} }),
  };
  // DEBUG=mqttjs* traces the CONNECT packet: its password leaves as *** (adapters/process/debug-output.ts)
  protectDebugOutput([
    opts.password?.toString(),
    ...o.urls.map((u) => {
      try {
        return decodeURIComponent(new URL(u).password);
      } catch {
        return undefined;
      }
    }),
  ]);
  const shown = o.urls.map(scrubUrl).join(',');
  const client: MqttClient = mqtt.connect(
    servers.length > 1 ? `${servers[0].protocol}://${servers[0].host}:${servers[0].port}` : `${first.protocol}//${first.host}`,
    opts,
  );
  // Nagle off (mqtt.js leaves it on): small packets would otherwise wait for the broker's delayed ACK, ~40 ms
  const noDelay = () => (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
  noDelay();
  client.on('connect', noDelay);
  // a broker could otherwise make this client buffer a packet of any size (MQTT 3.1.1 has no way to tell it a maximum)
  let refusedPacket = false;
  if (o.maximumPacketSize) {
    const limit = o.maximumPacketSize;
    guardClientPacketSize(client, limit, (bytes) => {
      refusedPacket = true;
      o.log.warn(
        { broker: shown, clientId: o.clientId, bytes, limit },
        "MQTT packet from the broker above MQTT_MAX_PACKET_BYTES: connection closed before buffering it; reconnecting (set the broker's own limit, e.g. Mosquitto max_packet_size)",
      );
    });
  }
  // listeners first: a persistent session's queued messages follow CONNACK at once
  const handlers: MessageHandler[] = [];
  const pendingAcks = new Map<number, Promise<unknown>>();
  // A persistent session's queued messages can arrive right after CONNACK, before subscribe()
  // attaches a handler: hold them (unacknowledged) until one is there.
  let early: { topic: string; payload: Buffer; packet: IPublishPacket; release: () => void }[] | undefined = [];
  const deliver = (topic: string, payload: Buffer, packet: IPublishPacket): Promise<unknown> | undefined => {
    const meta = { messageId: packet.messageId, dup: packet.dup, retain: packet.retain, trace: traceOf(packet.properties?.userProperties) };
    if (handlers.length === 1) {
      const r = handlers[0](topic, payload, meta);
      return r instanceof Promise ? r : undefined;
    }
    const work: Promise<unknown>[] = [];
    for (const h of handlers) {
      const r = h(topic, payload, meta);
      if (r instanceof Promise) work.push(r);
    }
    return work.length ? Promise.all(work) : undefined;
  };
  client.on('message', (topic, payload, packet) => {
    let done: Promise<unknown> | undefined;
    if (early) {
      let release!: () => void;
      done = new Promise<void>((ok) => (release = ok)).then(() => deliver(topic, payload, packet));
      early.push({ topic, payload, packet, release });
    } else done = deliver(topic, payload, packet);
    if (packet.qos === 1 && packet.messageId !== undefined && done) pendingAcks.set(packet.messageId, done);
    // QoS 0 has nothing to hold back; a handler's failure is still heard, never an unhandled rejection
    else done?.catch((err) => o.log.warn({ err: (err as Error)?.message, topic }, 'a QoS 0 message could not be handled'));
  });
  // the PUBACK of a QoS 1 input waits until its handlers' work is done (the input is logged); the next messages do not
  deferPubacks(client, pendingAcks, (messageId, err) =>
    o.log.warn({ err: (err as Error)?.message, messageId }, 'input not acknowledged: the broker will deliver it again'),
  );
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => {
      client.end(true);
      fail(
        new Error(
          `MQTT broker ${shown} gave no CONNACK within ${o.connectTimeoutMs} ms (client ${o.clientId}, protocol ${o.protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1'}). Is the broker up? An MQTT 3.1.1-only broker needs MQTT_PROTOCOL_VERSION=4.`,
        ),
      );
    }, o.connectTimeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      ok();
    });
    client.on('error', (err) => {
      // auth and certificate failures are final; anything else is retried until the timer fires
      const why = connectFailure(err as Error & { code?: unknown }, o.username);
      if (why) {
        clearTimeout(timer);
        client.end(true);
        fail(new Error(`MQTT broker ${shown} ${why}`));
      }
    });
  });
  o.log.info({ broker: shown, clientId: o.clientId }, 'connected to MQTT broker');
  let wasConnected = true;
  // a close storeflow asked for (stopping) is no lost connection
  let closing = false;
  let connectedAt = Date.now();
  let shortLived = 0;
  const takenOver = () => {
    closing = true;
    client.end(true);
    o.onTakenOver?.();
  };
  client.on('close', () => {
    // a connection closed for an oversized packet is no sign of another client with this id; its warning is said
    const refused = refusedPacket;
    refusedPacket = false;
    if (wasConnected && !closing && !refused) {
      // Another client with this id takes the session: MQTT 5 says so (DISCONNECT 0x8E, below), but a broker may just
      // close the connection (Mosquitto 2.0 does). Then the two reconnect in turn and knock each other off within a
      // second: two connections in a row closed that fast stop the newcomer, whose count started first; the
      // incumbent's next connection stays. A broker restart closes one connection, then refuses until it is back.
      shortLived = Date.now() - connectedAt < SHORT_LIVED_MS ? shortLived + 1 : 0;
      if (shortLived >= 2) return takenOver();
      o.log.warn({ broker: shown }, 'MQTT connection lost; reconnecting');
    }
    wasConnected = false;
  });
  client.on('connect', () => {
    if (!wasConnected) o.log.info({ broker: shown }, 'MQTT reconnected');
    wasConnected = true;
    connectedAt = Date.now();
  });
  // reconnecting would take the session back, and the two would knock each other off for ever: stop instead
  client.on('disconnect', (packet) => {
    if (packet.reasonCode === 142) takenOver();
  });
  const publishOptions = (opts: SendOptions) => ({
    qos: opts.qos ?? 1,
    ...((opts.id || opts.trace) && o.protocolVersion === 5
      ? { properties: { userProperties: { ...(opts.id ? { 'storeflow-id': opts.id } : {}), ...opts.trace } } }
      : {}),
  });
  return {
    publish: (topic, payload, opts = {}) => new Promise((ok, fail) => client.publish(topic, payload, publishOptions(opts), (err) => (err ? fail(err) : ok()))),
    send: (topic, payload, opts = {}, done) => void client.publish(topic, payload, publishOptions(opts), done),
    async subscribe(topics, handler, opts = {}) {
      handlers.push(handler);
      const held = early ?? [];
      early = undefined;
      for (const m of held) m.release();
      const shared = !!o.group && opts.shared !== false;
      const names = topics.map((t) => (shared ? `$share/${o.group}/${t}` : t));
      await client.subscribeAsync(names, { qos: 1, ...(opts.noLocal && !shared && o.protocolVersion === 5 ? { nl: true } : {}) });
    },
    topicName: (topic) => topic,
    isConnected: () => client.connected,
    close: () => {
      closing = true;
      return client.endAsync();
    },
  };
}

/** The W3C trace context among an MQTT 5 message's user properties (a property sent twice: its first value). */
function traceOf(props: Record<string, string | string[]> | undefined): TraceCarrier | undefined {
  const parent = props?.traceparent;
  if (parent === undefined) return undefined;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  return { traceparent: first(parent), tracestate: first(props?.tracestate) };
}

/** Why a connect failed for good, naming the variables to fix (never their secret values), or undefined to retry. */
export function connectFailure(err: Error & { code?: unknown }, username: string | undefined): string | undefined {
  const code = err.code;
  // CONNACK 4/5 (MQTT 3.1.1), 0x86/0x87 (MQTT 5): bad user name or password, not authorised
  if (code === 4 || code === 5 || code === 134 || code === 135) {
    return `refused the connection: ${err.message}. Check MQTT_USERNAME and MQTT_PASSWORD (${username ? `user ${JSON.stringify(username)}` : 'none set'})`;
  }
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_TLS|ERR_SSL/.test(code)) {
    return `failed the TLS handshake: ${err.message} (${code}). MQTT_BROKER_CERT_FILE must name the CA certificate that signed the broker's, for this host name or address`;
  }
  return undefined;
}
