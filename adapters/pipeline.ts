/**
 * Append, then act. One pipeline per process:
 * - inputs (MQTT messages, HTTP mock endpoints) are normalised, de-duplicated, appended to the
 *   event log, and only then dispatched to the local roles that consume their kind;
 * - outputs are appended, then published (with a stable id derived from their input), and handed
 *   to local consumers directly; the broker's copy of our own publication is recognised and dropped.
 * Bad input never throws: a warning, a metric, an optional dead-letter publication, a `rejected` log entry.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../schemas/env.ts';
import type { EventKind, StoreEvent } from '../schemas/events.ts';
import { toFlat } from '../schemas/events.ts';
import { normalise, type RejectCode } from '../schemas/normalise.ts';
import type { LoggedEvent, NewEvent } from '../actors/event-log.ts';
import { isAboutTheRows, type PostgresEventLog } from './postgres-event-log.ts';
import { storableText } from '../schemas/storable.ts';
import type { Broker } from './mqtt.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export type InputSource = 'mqtt' | 'http' | 'amqp' | 'replay';

/** What a consumer gets: the durable log entry and the event it carries. */
export interface Input { logged: LoggedEvent; event: StoreEvent }
export type InputHandler = (input: Input) => unknown;

export interface Output {
  streamId: string;
  type: string;
  data: unknown;
  /** Stable id derived from the input that caused it. */
  messageId: string;
  metadata?: Record<string, unknown>;
  /** Publication (topic and exact payload); omitted for log-only outputs. */
  publish?: { topic: string; payload: string };
  /** For local consumers of `type` (e.g. the detector's focus for the recommender). */
  event?: StoreEvent;
}

export type IngestResult =
  | { status: 'accepted'; logged: LoggedEvent; event: StoreEvent; results: unknown[] }
  | { status: 'duplicate'; messageId: string }
  | { status: 'rejected'; code: RejectCode; reason: string };

/**
 * Stable id of an input: same topic and same payload → same id. A QoS 1 redelivery, a publisher's
 * retry and an identical message within the de-duplication window are the same input. (The broker's
 * packet id is not part of it: it differs per subscriber and per delivery.)
 */
export function inputId(topic: string, payload: string): string {
  return createHash('sha1').update(topic).update('\u0000').update(payload).digest('base64url').slice(0, 22);
}

/** Stable id of an output: its input's id and what it is. */
export function outputId(causeId: string, type: string, n = 0): string {
  return `${causeId}:${type}${n ? `:${n}` : ''}`;
}

export interface PipelineOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  eventLog: PostgresEventLog;
  connectBroker(role: string): Promise<Broker>;
  /** How long an input id is remembered for de-duplication (ms). */
  dedupWindowMs?: number;
}

export class Pipeline {
  private consumers = new Map<EventKind, InputHandler[]>();
  private recent = new Map<string, number>();
  /** Inputs whose append is under way, by id. */
  private appending = new Map<string, Promise<void>>();
  private echoes = new Map<string, number>();
  private broker?: Broker;
  private topicKinds = new Map<string, EventKind>();
  private started = false;
  private dispatchTail: Promise<unknown> = Promise.resolve();
  private readonly dedupWindowMs: number;
  private readonly m;

  constructor(private o: PipelineOptions) {
    this.dedupWindowMs = o.dedupWindowMs ?? 10 * 60_000;
    const t = o.config.topics;
    for (const [topic, kind] of [[t.enter, 'entry'], [t.move, 'move'], [t.exit, 'exit'], [t.focus, 'focus'], [t.browsing, 'browsing']] as const) this.topicKinds.set(topic, kind);
    this.m = {
      inputs: o.metrics.counter('storeflow_inputs_total', 'Inputs accepted and logged', ['kind', 'source']),
      rejected: o.metrics.counter('storeflow_inputs_rejected_total', 'Inputs rejected (bad JSON, schema, unknown department, too large)', ['reason', 'source']),
      duplicates: o.metrics.counter('storeflow_inputs_duplicate_total', 'Inputs dropped as duplicates of logged ones', ['source']),
      outputs: o.metrics.counter('storeflow_outputs_total', 'Outputs logged and published', ['type']),
      publishFailures: o.metrics.counter('storeflow_publish_failures_total', 'Publications that failed after logging', ['type']),
    };
  }

  /** A local role consumes inputs of these kinds (from the broker, HTTP, and other local roles' outputs). */
  consume(kinds: EventKind[], handler: InputHandler): void {
    for (const k of kinds) {
      this.consumers.set(k, [...(this.consumers.get(k) ?? []), handler]);
    }
  }

  topicFor(kind: EventKind): string {
    return { entry: this.o.config.topics.enter, move: this.o.config.topics.move, exit: this.o.config.topics.exit, focus: this.o.config.topics.focus, browsing: this.o.config.topics.browsing }[kind];
  }

  /** Subscribe to the topics of every consumed kind (once all roles have registered). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.rememberRecentInputs();
    const kinds = [...this.consumers.keys()];
    if (kinds.length === 0) return;
    this.broker = await this.o.connectBroker('inputs');
    const topics = kinds.map((k) => this.topicFor(k));
    await this.broker.subscribe(topics, (topic, payload, meta) => {
      const kind = this.topicKinds.get(topic);
      if (!kind || !this.consumers.has(kind)) return;
      // the broker's acknowledgement waits for this: an input is acked once it is in the log
      return this.ingest(kind, payload, { source: 'mqtt', topic, brokerMessageId: meta.messageId });
    });
    this.o.log.info({ topics }, 'consuming input topics');
  }

  /** The de-duplication window survives a restart: recent input ids come back from the log. */
  private async rememberRecentInputs() {
    const since = Date.now() - this.dedupWindowMs;
    for (const e of await this.o.eventLog.inputIdsSince(since)) this.recent.set(e.messageId, e.recordedAt + this.dedupWindowMs);
  }

  /**
   * One input, from any source. Resolves after it is logged and every local consumer has handled it;
   * `results` holds what the consumers returned (e.g. the predictions a focus produced).
   */
  async ingest(kind: EventKind, raw: string | Uint8Array | object, at: { source: InputSource; topic?: string; brokerMessageId?: number }): Promise<IngestResult> {
    const topic = at.topic ?? this.topicFor(kind);
    const text = typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : JSON.stringify(raw);
    if (at.source === 'mqtt' && this.isEcho(topic, text)) return { status: 'duplicate', messageId: '' };
    const n = normalise(text, kind, this.o.config.maxPayloadBytes);
    if (!n.ok) {
      await this.reject(n.code, n.reason, topic, text, at.source);
      return { status: 'rejected', code: n.code, reason: n.reason };
    }
    const messageId = inputId(topic, text);
    // a copy of an input still being appended waits for it: an input counts as seen once it is logged
    for (let first = this.appending.get(messageId); first; first = this.appending.get(messageId)) await first;
    const seen = this.recent.get(messageId);
    if (seen !== undefined && seen > Date.now()) {
      this.m.duplicates.inc({ source: at.source });
      this.o.log.debug({ topic, messageId }, 'duplicate input dropped');
      return { status: 'duplicate', messageId };
    }
    const event = n.event;
    let logged: LoggedEvent;
    let done!: () => void;
    this.appending.set(messageId, new Promise<void>((ok) => (done = ok)));
    try {
      // waits out a database outage (the log retries); fails only for a row the database refuses, or at shutdown
      [logged] = await this.o.eventLog.append([{
        streamId: `customer-${event.id}`, type: event.kind, data: toFlat(event), messageId,
        metadata: { source: at.source, topic },
      }]);
      this.remember(messageId, Date.now());
    } catch (err) {
      if (!isAboutTheRows(err)) throw err; // not logged: not acknowledged, so the broker delivers it again
      const reason = `the database refused the input: ${(err as Error).message}`;
      await this.reject('unstorable', reason, topic, text, at.source);
      return { status: 'rejected', code: 'unstorable', reason };
    } finally {
      this.appending.delete(messageId);
      done();
    }
    this.m.inputs.inc({ kind: event.kind, source: at.source });
    // consumers see inputs one at a time, in log order, each with the outputs it caused handed on
    // before the next input: live runs take the same path a replay of the log takes
    const turn = this.dispatchTail.then(() => this.dispatch(this.consumers.get(event.kind) ?? [], { logged, event }));
    this.dispatchTail = turn.catch(() => undefined);
    const results = await turn;
    return { status: 'accepted', logged, event, results };
  }

  private remember(messageId: string, now: number) {
    this.recent.set(messageId, now + this.dedupWindowMs);
    if (this.recent.size > 200_000) for (const [k, until] of this.recent) if (until < now || this.recent.size > 150_000) this.recent.delete(k);
  }

  private async dispatch(handlers: InputHandler[], input: Input): Promise<unknown[]> {
    const results: unknown[] = [];
    for (const h of handlers) {
      try {
        results.push(await h(input));
      } catch (err) {
        this.o.log.error({ err, position: input.logged.position }, 'consumer failed on an input');
      }
    }
    return results;
  }

  private async reject(code: RejectCode, reason: string, topic: string, text: string, source: InputSource) {
    this.m.rejected.inc({ reason: code, source });
    const sample = storableText(text.length > 512 ? `${text.slice(0, 512)}…` : text);
    this.o.log.warn({ topic, reason, code, source, bytes: Buffer.byteLength(text) }, 'input rejected');
    // the record of a bad input holds nothing the database would refuse, so it can always be kept
    const record = { topic: storableText(topic), code, reason: storableText(reason), payload: sample, bytes: Buffer.byteLength(text) };
    await this.o.eventLog.append([{ streamId: 'rejected', type: 'rejected', data: record, metadata: { source, topic: record.topic } }]).catch((err) => this.o.log.error({ err }, 'could not log a rejected input'));
    const dl = this.o.config.topics.deadLetter;
    if (dl && this.broker) await this.broker.publish(dl, JSON.stringify({ ...record, payload: text.length > 65536 ? sample : text })).catch(() => {});
  }

  /**
   * Outputs: appended in one batch, then published in order, then handed to local consumers.
   * A failed publication is logged and counted; the output stays in the log (at-least-once on replay).
   */
  async emit(outputs: Output[], broker: Broker | undefined): Promise<LoggedEvent[]> {
    if (outputs.length === 0) return [];
    const logged = await this.o.eventLog.append(outputs.map((o): NewEvent => ({
      streamId: o.streamId, type: o.type, data: o.data, messageId: o.messageId,
      metadata: { source: 'output', ...(o.publish ? { topic: o.publish.topic } : {}), ...o.metadata },
    })));
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i];
      this.m.outputs.inc({ type: o.type });
      if (o.publish && broker) {
        if (this.consumers.has(this.topicKinds.get(o.publish.topic) as EventKind)) this.expectEcho(o.publish.topic, o.publish.payload);
        // written to the socket in order now; the broker's acknowledgement is not waited for (nothing here needs it)
        broker.send(o.publish.topic, o.publish.payload, { id: o.messageId }, (err) => {
          if (!err) return;
          this.m.publishFailures.inc({ type: o.type });
          this.o.log.warn({ err, topic: o.publish!.topic }, 'publication failed (the output is in the log)');
        });
      }
      if (o.event) await this.dispatch(this.consumers.get(o.event.kind) ?? [], { logged: logged[i], event: o.event });
    }
    return logged;
  }

  private expectEcho(topic: string, payload: string) {
    const now = Date.now();
    this.echoes.set(`${topic}\u0000${payload}`, now + 60_000);
    if (this.echoes.size > 100_000) for (const [k, until] of this.echoes) if (until < now || this.echoes.size > 50_000) this.echoes.delete(k);
  }

  private isEcho(topic: string, payload: string): boolean {
    if (this.echoes.size === 0) return false;
    const key = `${topic}\u0000${payload}`;
    const until = this.echoes.get(key);
    if (until === undefined) return false;
    this.echoes.delete(key);
    return until >= Date.now();
  }
}
