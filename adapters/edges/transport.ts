/**
 * The transport port: how messages come into storeflow and how its outputs leave. Each transport implements the sides
 * it has in a module of its own, none a mode of another: MQTT (./mqtt.ts) and Kafka (./kafka.ts) both
 * sides, RabbitMQ (./amqp.ts, the gateway's seed-004 source) the inbound side; with TESTING_NO_MQTT the outbound side
 * only logs (./logging-transport.ts). The process picks one from the configuration (adapters/process/transports.ts);
 * the pipeline asks it for its source name and its hand-off rule, never for the configuration behind it.
 */
import type { TraceCarrier } from '../process/tracing.ts';

/** What a transport says of one message besides its topic and payload. */
export interface Delivery {
  /** MQTT's packet id (QoS 1). */
  messageId?: number;
  /** The sender's stable id for the message, where the transport carries one (AMQP's message-id property). */
  id?: string;
  /** Delivered before (MQTT). */
  dup: boolean;
  /** A retained message (MQTT). */
  retain: boolean;
  /** The W3C trace context the message carried (MQTT 5 user properties, Kafka and AMQP headers), for its trace to go on. */
  trace?: TraceCarrier;
}

/**
 * A message handler. When it returns a promise, the message is acknowledged (MQTT's PUBACK, Kafka's offset commit,
 * AMQP's ack) only once the promise resolves — the input is in the event log — without stalling the next messages; a
 * promise that rejects leaves the message to be delivered again. One that resolves with `{ status: 'rejected' }` was
 * logged as rejected: a transport with dead letters of its own (AMQP) sends it there, the others acknowledge it.
 */
export type MessageHandler = (topic: string, payload: Buffer, meta: Delivery) => unknown;

/** Whether a handler's result says the input was logged as rejected. */
export function isRejected(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { status?: unknown }).status === 'rejected';
}

export interface SubscribeOptions {
  /** false keeps GROUP_ID's shared subscription (MQTT) or consumer group (Kafka) off: commands every instance must hear. */
  shared?: boolean;
  /** Never deliver this client's own publications back to it, where the transport can (see Transport.handsOffLocally). */
  noLocal?: boolean;
}

/** The inbound side: topics subscribed to, each message handed to its handler. */
export interface Inbound {
  subscribe(topics: string[], handler: MessageHandler, opts?: SubscribeOptions): Promise<void>;
  /** The name `topic` has on this transport (Kafka's: '/' → '.'), as logs show it; handlers hear the name subscribed with. */
  topicName(topic: string): string;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** `id`: the output's stable id; `trace`: the W3C trace context its consumer continues (MQTT 5 user properties, Kafka headers). */
export interface SendOptions {
  qos?: 0 | 1;
  id?: string;
  trace?: TraceCarrier;
}

/** The outbound side: publications, acknowledged by the transport. */
export interface Outbound {
  /** `id`: the output's stable id (MQTT 5 user property or Kafka header `storeflow-id`), so consumers can de-duplicate. */
  publish(topic: string, payload: string | Buffer, opts?: SendOptions): Promise<void>;
  /** The same without a promise per message (hot paths): `done` hears the transport's acknowledgement or the failure. */
  send(topic: string, payload: string | Buffer, opts?: SendOptions, done?: (err?: Error) => void): void;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** One connected client of a transport with both sides (a role's, or the pipeline's). */
export type TransportClient = Inbound & Outbound;

/** The name inputs from a transport are logged with (`metadata.source`, metric labels). */
export type TransportSource = 'mqtt' | 'kafka' | 'amqp';

/** A transport as the process picked it, before any client connects: what it is, what it can do, how to connect. */
export interface Transport {
  readonly source: TransportSource;
  /**
   * Whether a client that subscribes with `noLocal` never hears its own publications (MQTT 5 outside a shared
   * subscription; the embedded broker for the pipeline's client; nothing comes back when nothing is sent). The
   * pipeline then hands its outputs to its own processors; otherwise they come back through the transport like
   * anyone else's (MQTT 3.1.1, shared subscriptions, Kafka).
   */
  readonly handsOffLocally: boolean;
  /**
   * Whether an input is acknowledged only once what it caused is published and taken by the broker, not as soon as
   * it is logged (Kafka): a process killed between logging a prediction and sending it then leaves its focus
   * unacknowledged, and whoever reads the focus next (the partition's next owner) publishes the logged prediction
   * again. MQTT acknowledges at logging: its window of unacknowledged messages is small.
   */
  readonly acksAfterPublication?: boolean;
  /** A client for `role` (its client id's suffix; its consumer group's, for an unshared Kafka subscription). */
  connect(role: string): Promise<TransportClient>;
}
