/**
 * Append, then act. One pipeline per process, and the one path every input takes (live, and at start
 * when sessions are recovered):
 * - an input (MQTT message, HTTP mock endpoint) is normalised, de-duplicated and appended to the event
 *   log; only then is it handed to each processor that consumes its kind, one input at a time, in log order;
 * - a processor returns the outputs the input caused (or a promise of them); the pipeline appends them
 *   in one batch, publishes them with their stable ids, and hands those another processor here consumes
 *   (the detector's focus, for the recommender) to it, before the next input.
 * A process's own publications reach its processors by one path only: locally when the broker keeps a
 * client's own publications from it (MQTT 5 no-local; the embedded broker does the same for the
 * pipeline's client), otherwise through the broker like anyone else's (and then not locally).
 * Bad input never throws: a warning, a metric, an optional dead-letter publication, a `rejected` log entry.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../../schemas/env.ts';
import type { EventKind, StoreEvent } from '../../schemas/events.ts';
import { toFlat } from '../../schemas/events.ts';
import { normalise, type RejectCode } from '../../schemas/normalise.ts';
import type { LoggedEvent, NewEvent } from '../../actors/kernel/event-log.ts';
import type { PostgresEventLog } from '../edges/postgres-event-log.ts';
import { isAboutTheRows } from '../edges/postgres-log-insert.ts';
import { storableText } from '../../schemas/storable.ts';
import type { Broker } from '../edges/mqtt.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export type InputSource = 'mqtt' | 'kafka' | 'http' | 'amqp' | 'replay';

/** What a processor gets: the durable log entry and the event it carries. */
export interface Input {
  logged: LoggedEvent;
  event: StoreEvent;
}

export interface Output {
  streamId: string;
  type: string;
  data: unknown;
  /** Stable id derived from the input that caused it. */
  messageId: string;
  /** Appended only if the stream holds nothing after this version that this process did not write (a decision against its session's view). */
  expectedVersion?: number;
  metadata?: Record<string, unknown>;
  /** Publication (topic and exact payload); omitted for log-only outputs. */
  publish?: { topic: string; payload: string };
  /** The store event it announces, for processors of the same process that consume its kind. */
  event?: StoreEvent;
}

/** A stateful role over its host of actors: one logged input in, the outputs it caused out. */
export interface Processor {
  readonly consumes: readonly EventKind[];
  handle(input: Input): Output[] | Promise<Output[]>;
  /**
   * Outputs of `input` the log did not take: another writer got ahead on the stream (`conflict`) or logged the same
   * output id already (`duplicate`). Returns what to append instead (decided again from the log), or nothing.
   */
  reconcile?(input: Input, why: 'conflict' | 'duplicate'): Promise<Output[]>;
  /** Ids of the outputs that show an input was seen through (a focus's decision); none: nothing to see through. */
  outcomes?(input: Input): string[];
}

/** What was logged before a restart and must be run again: inputs, and the ids of outputs already logged. */
export interface Recovery {
  inputs: Input[];
  logged: Set<string>;
  /** Outputs logged just before the restart, published again: a crash may have come between the two (at-least-once, same ids). */
  republish?: Output[];
}

export interface Registration {
  processor: Processor;
  /** Heard once outputs are logged and published; `ms` since their input was logged here. */
  onLogged?(outputs: Output[], input: Input, ms: number): void;
  /** At start, before live inputs: what to run through the processor again (outputs already logged are not repeated). */
  recover?(): Promise<Recovery | undefined>;
}

export type IngestResult =
  | { status: 'accepted'; logged: LoggedEvent; event: StoreEvent; outputs: Promise<Output[]> }
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

/** The id a logged input goes by: its stable id, or its position when it has none. */
export function loggedInputId(logged: LoggedEvent): string {
  return logged.messageId ?? `position-${logged.position}`;
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
  private registrations: Registration[] = [];
  private recent = new Map<string, number>();
  /** Inputs whose append is under way, by id. */
  private appending = new Map<string, (() => void)[]>();
  private broker?: Broker;
  private topicKinds = new Map<string, EventKind>();
  private started = false;
  private dispatchTail: Promise<unknown> = Promise.resolve();
  private readonly dedupWindowMs: number;
  private readonly m;
  /** Whether outputs go to this process's processors locally (true) or come back through the broker. */
  readonly handOffLocally: boolean;

  constructor(private o: PipelineOptions) {
    this.dedupWindowMs = o.dedupWindowMs ?? 10 * 60_000;
    const t = o.config.topics;
    for (const [topic, kind] of [
      [t.enter, 'entry'],
      [t.move, 'move'],
      [t.exit, 'exit'],
      [t.focus, 'focus'],
      [t.browsing, 'browsing'],
      [t.redemption, 'redemption'],
    ] as const)
      this.topicKinds.set(topic, kind);
    const mq = o.config.mqtt;
    // no-local: MQTT 5 (never on a shared subscription, where the spec forbids it); the embedded broker
    // keeps the pipeline client's own publications from it
    this.handOffLocally = (mq.mode !== 'external' && mq.mode !== 'kafka') || (mq.mode === 'external' && mq.protocolVersion === 5 && !mq.group);
    this.m = {
      inputs: o.metrics.counter('storeflow_inputs_total', 'Inputs accepted and logged', ['kind', 'source']),
      rejected: o.metrics.counter('storeflow_inputs_rejected_total', 'Inputs rejected (bad JSON, schema, unknown department, too large)', ['reason', 'source']),
      duplicates: o.metrics.counter('storeflow_inputs_duplicate_total', 'Inputs dropped as duplicates of logged ones', ['source']),
      orphans: o.metrics.counter('storeflow_inputs_orphaned_total', 'Inputs another process logged and never decided (it died), decided here'),
      outputs: o.metrics.counter('storeflow_outputs_total', 'Outputs logged and published', ['type']),
      publishFailures: o.metrics.counter('storeflow_publish_failures_total', 'Publications that failed after logging', ['type']),
      skipped: o.metrics.counter(
        'storeflow_outputs_refused_total',
        'Outputs the log did not take: another writer appended to the stream first (conflict) or logged the same output (duplicate); decided again from the log',
        ['reason'],
      ),
      stage: o.metrics.histogram(
        'storeflow_pipeline_stage_duration_seconds',
        'Time in each stage: append_input (input to the log), decide (a processor, until its outputs), append_output, publish (until the broker acknowledged)',
        ['stage'],
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      ),
    };
  }

  /** A processor of this process: its kinds are consumed from the broker, HTTP and the other processors' outputs. */
  register(r: Registration): void {
    this.registrations.push(r);
  }

  /** The processors of this process, in registration order. */
  get processors(): Processor[] {
    return this.registrations.map((r) => r.processor);
  }

  private consumes(kind: EventKind): boolean {
    return this.registrations.some((r) => r.processor.consumes.includes(kind));
  }

  topicFor(kind: EventKind): string {
    return {
      entry: this.o.config.topics.enter,
      move: this.o.config.topics.move,
      exit: this.o.config.topics.exit,
      focus: this.o.config.topics.focus,
      browsing: this.o.config.topics.browsing,
      redemption: this.o.config.topics.redemption,
    }[kind];
  }

  /**
   * Connect, run what a restart left undone (recovery), then subscribe to the topics of every consumed
   * kind. Messages the broker kept for this client wait, unacknowledged, until the subscription is there.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.rememberRecentInputs();
    const kinds = [...new Set(this.registrations.flatMap((r) => r.processor.consumes))];
    if (kinds.length === 0) return;
    this.broker = await this.o.connectBroker('pipeline');
    for (const r of this.registrations) {
      const recovery = await r.recover?.();
      if (recovery) await this.recover(r, recovery);
    }
    const topics = kinds.map((k) => this.topicFor(k));
    await this.broker.subscribe(
      topics,
      (topic, payload, meta) => {
        const kind = this.topicKinds.get(topic);
        if (!kind || !this.consumes(kind)) return;
        // the broker's acknowledgement waits for this: an input is acked once it is in the log
        return this.ingest(kind, payload, { source: this.o.config.mqtt.mode === 'kafka' ? 'kafka' : 'mqtt', topic, brokerMessageId: meta.messageId });
      },
      { noLocal: this.handOffLocally },
    );
    this.o.log.info({ topics, handOff: this.handOffLocally ? 'local' : 'through the broker' }, 'consuming input topics');
  }

  /** The de-duplication window survives a restart: recent input ids come back from the log. */
  private async rememberRecentInputs() {
    // a process SIGKILLed a moment ago may still have a group commit running on the server: read the window
    // once it has committed, or the broker's redelivery of those inputs would be taken as new
    await this.o.eventLog.quiet(5000);
    const since = Date.now() - this.dedupWindowMs;
    for (const e of await this.o.eventLog.inputIdsSince(since)) this.recent.set(e.messageId, e.recordedAt + this.dedupWindowMs);
  }

  /** Logged inputs through the processor again; only outputs not yet in the log are appended and published. */
  private async recover(r: Registration, { inputs, logged, republish = [] }: Recovery) {
    for (const o of republish) if (o.publish) this.broker?.send(o.publish.topic, o.publish.payload, { id: o.messageId });
    const pending: Promise<unknown>[] = [];
    for (const input of inputs) {
      const result = this.handle(r, input);
      const unlogged = (outs: Output[]) => outs.filter((x) => !logged.has(x.messageId));
      pending.push(Array.isArray(result) ? this.emit(r, unlogged(result), input) : result.then((outs) => this.emit(r, unlogged(outs), input)));
    }
    await Promise.all(pending);
  }

  /**
   * One input, from any source. Resolves once it is logged and handed to the processors; `outputs`
   * resolves once what it caused is logged and published (HTTP callers wait for it, the broker does not).
   */
  async ingest(
    kind: EventKind,
    raw: string | Uint8Array | object,
    at: { source: InputSource; topic?: string; brokerMessageId?: number },
  ): Promise<IngestResult> {
    const topic = at.topic ?? this.topicFor(kind);
    const text =
      typeof raw === 'string'
        ? raw
        : Buffer.isBuffer(raw)
          ? raw.toString('utf8')
          : raw instanceof Uint8Array
            ? Buffer.from(raw).toString('utf8')
            : JSON.stringify(raw);
    const n = normalise(text, kind, this.o.config.maxPayloadBytes);
    if (!n.ok) {
      await this.reject(n.code, n.reason, topic, text, at.source);
      return { status: 'rejected', code: n.code, reason: n.reason };
    }
    const messageId = inputId(topic, text);
    // a copy of an input still being appended waits for it: an input counts as seen once it is logged
    while (this.appending.has(messageId)) await new Promise<void>((ok) => this.appending.get(messageId)!.push(ok));
    const seen = this.recent.get(messageId);
    if (seen !== undefined && seen > Date.now()) {
      this.m.duplicates.inc({ source: at.source });
      this.o.log.debug({ topic, messageId }, 'duplicate input dropped');
      return { status: 'duplicate', messageId };
    }
    const event = n.event;
    let logged: LoggedEvent;
    this.appending.set(messageId, []);
    try {
      // waits out a database outage (the log retries); fails only for a row the database refuses, or at shutdown
      const appendStart = performance.now();
      [logged] = await this.o.eventLog.append([
        {
          streamId: `customer-${event.id}`,
          type: event.kind,
          data: toFlat(event),
          messageId,
          metadata: { source: at.source, topic },
        },
      ]);
      this.remember(messageId, Date.now());
      this.observe('append_input', appendStart);
      if (logged.skipped && !(await this.orphaned(logged, n.event))) {
        // logged already, by this process before a restart or by another replica: the log's unique id says so
        this.m.duplicates.inc({ source: at.source });
        this.o.log.debug({ topic, messageId, position: logged.position }, 'duplicate input dropped (in the log already)');
        return { status: 'duplicate', messageId };
      }
    } catch (err) {
      if (!isAboutTheRows(err)) throw err; // not logged: not acknowledged, so the broker delivers it again
      const reason = `the database refused the input: ${(err as Error).message}`;
      await this.reject('unstorable', reason, topic, text, at.source);
      return { status: 'rejected', code: 'unstorable', reason };
    } finally {
      const waiting = this.appending.get(messageId) ?? [];
      this.appending.delete(messageId);
      for (const ok of waiting) ok();
    }
    this.m.inputs.inc({ kind: event.kind, source: at.source });
    // processors see inputs one at a time, in log order, as a replay of the log does
    const turn = this.dispatchTail.then(() => this.dispatch({ logged, event }));
    this.dispatchTail = turn.catch(() => undefined);
    const { all } = await turn;
    // made only when asked for (an HTTP caller waits for it; the broker does not)
    return {
      status: 'accepted',
      logged,
      event,
      get outputs() {
        return Promise.all(all).then((x) => x.flat());
      },
    };
  }

  /**
   * An input another process logged and did not see through (it died between the two; the broker or Kafka then
   * delivers it here): none of the outcomes a processor here would log for it is in the log. It is handled now;
   * should the other still be at work, the log takes one decision (unique output ids) and the other is reconciled.
   */
  private async orphaned(logged: LoggedEvent, event: StoreEvent): Promise<boolean> {
    const ids = this.registrations.flatMap((r) => (r.processor.consumes.includes(event.kind) ? (r.processor.outcomes?.({ logged, event }) ?? []) : []));
    if (ids.length === 0) return false;
    const done = await this.o.eventLog.anyOf(ids);
    if (!done) {
      this.m.orphans.inc();
      this.o.log.info({ messageId: logged.messageId, position: logged.position }, 'an input logged by another process and never decided: deciding it here');
    }
    return !done;
  }

  /** storeflow_pipeline_stage_duration_seconds{stage}: from `since` (performance.now()) to now. */
  private observe(stage: 'append_input' | 'decide' | 'append_output' | 'publish', since: number) {
    this.m.stage.observe({ stage }, (performance.now() - since) / 1000);
  }

  private remember(messageId: string, now: number) {
    this.recent.set(messageId, now + this.dedupWindowMs);
    if (this.recent.size > 200_000) for (const [k, until] of this.recent) if (until < now || this.recent.size > 150_000) this.recent.delete(k);
  }

  private handle(r: Registration, input: Input): Output[] | Promise<Output[]> {
    const t0 = performance.now();
    try {
      const result = r.processor.handle(input);
      if (Array.isArray(result)) {
        this.observe('decide', t0);
        return result;
      }
      return result
        .then((outs) => {
          this.observe('decide', t0);
          return outs;
        })
        .catch((err) => {
          this.o.log.error({ err, position: input.logged.position }, 'a processor failed on an input');
          return [];
        });
    } catch (err) {
      this.o.log.error({ err, position: input.logged.position }, 'a processor failed on an input');
      return [];
    }
  }

  /**
   * Hands one logged input to each processor that consumes its kind. Outputs decided at once that a
   * processor here consumes are logged and handed on before this returns (so before the next input);
   * others are logged and published as they come. The promise it returns settles with all of them.
   */
  private async dispatch(input: Input): Promise<{ all: Promise<Output[]>[] }> {
    const all: Promise<Output[]>[] = [];
    const t0 = performance.now();
    for (const r of this.registrations) {
      if (!r.processor.consumes.includes(input.event.kind)) continue;
      const result = this.handle(r, input);
      if (!Array.isArray(result)) {
        all.push(result.then((outs) => this.emit(r, outs, input, t0)));
        continue;
      }
      if (result.length === 0) continue;
      const emitted = this.emit(r, result, input, t0);
      all.push(emitted);
      if (this.handOffLocally && result.some((x) => x.event && this.consumes(x.event.kind))) await emitted.catch(() => undefined);
    }
    // wrapped: the promises returned as such would be waited for by the caller
    return { all };
  }

  private async reject(code: RejectCode, reason: string, topic: string, text: string, source: InputSource) {
    this.m.rejected.inc({ reason: code, source });
    const sample = storableText(text.length > 512 ? `${text.slice(0, 512)}…` : text);
    this.o.log.warn({ topic, reason, code, source, bytes: Buffer.byteLength(text) }, 'input rejected');
    // the record of a bad input holds nothing the database would refuse, so it can always be kept
    const record = { topic: storableText(topic), code, reason: storableText(reason), payload: sample, bytes: Buffer.byteLength(text) };
    await this.o.eventLog
      .append([{ streamId: 'rejected', type: 'rejected', data: record, metadata: { source, topic: record.topic } }])
      .catch((err) => this.o.log.error({ err }, 'could not log a rejected input'));
    const dl = this.o.config.topics.deadLetter;
    if (dl && this.broker) await this.broker.publish(dl, JSON.stringify({ ...record, payload: text.length > 65536 ? sample : text })).catch(() => {});
  }

  /**
   * A processor's outputs: appended in one batch, then published in order, then handed to the
   * processors here that consume them. A failed publication is logged and counted; the output stays in
   * the log. Resolves with the outputs and those they caused in turn.
   */
  private async emit(r: Registration, outputs: Output[], input: Input, t0 = performance.now(), attempt = 0): Promise<Output[]> {
    if (outputs.length === 0) return outputs;
    let logged: LoggedEvent[];
    const appendStart = performance.now();
    try {
      logged = await this.o.eventLog.append(
        outputs.map(
          (o): NewEvent => ({
            streamId: o.streamId,
            type: o.type,
            data: o.data,
            messageId: o.messageId,
            expectedVersion: o.expectedVersion,
            metadata: { source: 'output', ...(o.publish ? { topic: o.publish.topic } : {}), ...o.metadata },
          }),
        ),
      );
    } catch (err) {
      this.o.log.error({ err, cause: input.logged.messageId }, 'could not log outputs; not published');
      return [];
    }
    if (logged.some((e) => e.skipped)) {
      // another process (a replica) got ahead on this customer's stream, or logged this very output: what the log
      // did not take is neither published nor handed on; the processor decides again from the log
      const why = logged.some((e) => e.skipped === 'conflict') ? 'conflict' : 'duplicate';
      this.m.skipped.inc({ reason: why });
      const kept = outputs.filter((_, i) => !logged[i].skipped);
      const keptLogged = logged.filter((e) => !e.skipped);
      const done = kept.length ? await this.deliver(r, kept, keptLogged, input, t0, appendStart) : [];
      if (!r.processor.reconcile) return done;
      if (attempt >= 10) {
        this.o.log.error({ cause: input.logged.messageId, why }, 'outputs refused by the log ten times; giving up on this input');
        return done;
      }
      try {
        const again = await r.processor.reconcile(input, why);
        return [...done, ...(await this.emit(r, again, input, t0, attempt + 1))];
      } catch (err) {
        // only at shutdown (a rebuild waits out a database outage): the input stays undecided in the log, which
        // the next start's recovery decides
        this.o.log.warn({ err, cause: input.logged.messageId }, 'could not decide again from the log');
        return done;
      }
    }
    return this.deliver(r, outputs, logged, input, t0, appendStart);
  }

  /** Logged outputs: published in order, then handed to the processors here that consume them. */
  private async deliver(r: Registration, outputs: Output[], logged: LoggedEvent[], input: Input, t0: number, appendStart: number): Promise<Output[]> {
    this.observe('append_output', appendStart);
    const broker = this.broker;
    const sent = performance.now();
    for (const o of outputs) {
      this.m.outputs.inc({ type: o.type });
      if (!o.publish || !broker) continue;
      // written to the socket in order now; the broker's acknowledgement is not waited for (nothing here needs it)
      broker.send(o.publish.topic, o.publish.payload, { id: o.messageId }, (err) => {
        if (!err) return this.observe('publish', sent);
        this.m.publishFailures.inc({ type: o.type });
        this.o.log.warn({ err, topic: o.publish!.topic }, 'publication failed (the output is in the log)');
      });
    }
    r.onLogged?.(outputs, input, performance.now() - t0);
    if (!this.handOffLocally) return outputs;
    const caused: Output[] = [];
    for (let i = 0; i < outputs.length; i++) {
      const event = outputs[i].event;
      if (event && this.consumes(event.kind)) caused.push(...(await Promise.all((await this.dispatch({ logged: logged[i], event })).all)).flat());
    }
    return caused.length ? [...outputs, ...caused] : outputs;
  }
}
