/**
 * One pipeline per process, the one path every input takes (live, and at start when sessions are recovered): an
 * input is normalised, de-duplicated and appended to the event log, then handed to each processor that consumes its
 * kind, one at a time, in log order; the outputs it caused are appended in one batch, published with their stable ids,
 * and handed to the processors here that consume them (the detector's focus, for the recommender) before the next
 * input. A process's own publications reach its processors by one path only: locally when the broker keeps a client's
 * own publications from it (MQTT 5 no-local; the embedded broker too), else through the broker like anyone else's.
 * Bad input never throws: a warning, a metric, an optional dead-letter publication, a `rejected` log entry.
 */
import type { Config } from '../../schemas/env.ts';
import type { EventKind, StoreEvent } from '../../schemas/events.ts';
import { toFlat } from '../../schemas/events.ts';
import { normalise, type RejectCode } from '../../schemas/normalise.ts';
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import type { PostgresEventLog } from '../edges/postgres-event-log.ts';
import { isAboutTheRows } from '../edges/postgres-log-insert.ts';
import type { Broker } from '../edges/mqtt.ts';
import type { Logger } from './logger.ts';
import {
  inputId,
  outputRecord,
  type Input,
  type InputSource,
  type IngestResult,
  type Output,
  type Processor,
  type Recovery,
  type Registration,
} from './processor-contract.ts';
import type { Metrics } from './metrics.ts';
import { pipelineMetrics } from './pipeline-metrics.ts';
import { SeenInputs } from './seen-inputs.ts';
import { logRejected } from './rejected-input.ts';
import { kindTopics } from './kind-topics.ts';
import { decide } from './decide.ts';
import { stepAttributes, Tracing, type TraceCarrier, type TraceSpan } from './tracing.ts';
import { must } from '../../actors/kernel/must.ts';

export interface PipelineOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  eventLog: PostgresEventLog;
  connectBroker(role: string): Promise<Broker>;
  /** How long an input id is remembered for de-duplication (ms). */
  dedupWindowMs?: number;
  /** OpenTelemetry: one trace per input (none: no span is made). */
  tracing?: Tracing;
}

export class Pipeline {
  private registrations: Registration[] = [];
  private seen: SeenInputs;
  private broker?: Broker;
  private readonly kindTopic: Map<EventKind, string>;
  private readonly topicKinds: Map<string, EventKind>;
  private started = false;
  private dispatchTail: Promise<unknown> = Promise.resolve();
  private readonly m;
  /** Whether outputs go to this process's processors locally (true) or come back through the broker. */
  readonly handOffLocally: boolean;

  constructor(private o: PipelineOptions) {
    this.seen = new SeenInputs(o.dedupWindowMs ?? 10 * 60_000);
    this.kindTopic = kindTopics(o.config.topics);
    this.topicKinds = new Map([...this.kindTopic].map(([kind, topic]) => [topic, kind]));
    const mq = o.config.mqtt;
    // no-local: MQTT 5 (never on a shared subscription, where the spec forbids it); the embedded broker does the same
    this.handOffLocally = (mq.mode !== 'external' && mq.mode !== 'kafka') || (mq.mode === 'external' && mq.protocolVersion === 5 && !mq.group);
    this.m = pipelineMetrics(o.metrics);
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
    return must(this.kindTopic.get(kind), `the topic of ${kind}`);
  }

  /** Connect, run what a restart left undone (recovery), then subscribe (what the broker kept waits, unacknowledged). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.seen.recall(this.o.eventLog);
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
        return this.ingest(kind, payload, {
          source: this.o.config.mqtt.mode === 'kafka' ? 'kafka' : 'mqtt',
          topic,
          brokerMessageId: meta.messageId,
          trace: meta.trace,
        });
      },
      { noLocal: this.handOffLocally },
    );
    this.o.log.info({ topics, handOff: this.handOffLocally ? 'local' : 'through the broker' }, 'consuming input topics');
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
    at: { source: InputSource; topic?: string; brokerMessageId?: number; trace?: TraceCarrier },
  ): Promise<IngestResult> {
    const tracing = this.o.tracing;
    if (!tracing) return this.take(kind, raw, at);
    return tracing.input(at.topic ?? this.topicFor(kind), at.source, at.trace, (span) => this.take(kind, raw, at, span));
  }

  private async take(kind: EventKind, raw: string | Uint8Array | object, at: { source: InputSource; topic?: string }, span?: TraceSpan): Promise<IngestResult> {
    const topic = at.topic ?? this.topicFor(kind);
    const text = typeof raw === 'string' ? raw : raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : JSON.stringify(raw);
    const n = normalise(text, kind, this.o.config.maxPayloadBytes);
    if (!n.ok) {
      await this.reject(n.code, n.reason, topic, text, at.source);
      return { status: 'rejected', code: n.code, reason: n.reason };
    }
    const messageId = inputId(topic, text);
    // a copy of an input still being appended waits for it: an input counts as seen once it is logged
    await this.seen.appended(messageId);
    if (this.seen.has(messageId)) {
      this.m.duplicates.inc({ source: at.source });
      this.o.log.debug({ topic, messageId }, 'duplicate input dropped');
      return { status: 'duplicate', messageId };
    }
    const event = n.event;
    let logged: LoggedEvent;
    const done = this.seen.appending(messageId);
    const appending = span && this.o.tracing?.child(span, 'append');
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
          trace: appending && this.o.tracing?.link(appending),
        },
      ]);
      this.seen.remember(messageId);
      this.observe('append_input', appendStart);
      if (logged.skipped && !(await this.orphaned(logged, n.event))) {
        // logged already, by this process before a restart or by another replica: the log's unique id says so
        this.m.duplicates.inc({ source: at.source });
        this.o.log.debug({ topic, messageId, position: logged.position }, 'duplicate input dropped (in the log already)');
        return { status: 'duplicate', messageId };
      }
    } catch (err) {
      Tracing.end(appending, err);
      if (!isAboutTheRows(err)) throw err; // not logged: not acknowledged, so the broker delivers it again
      const reason = `the database refused the input: ${(err as Error).message}`;
      await this.reject('unstorable', reason, topic, text, at.source);
      return { status: 'rejected', code: 'unstorable', reason };
    } finally {
      done();
      // ended once: with the error in the catch above, else here
      if (appending?.isRecording()) Tracing.end(appending);
    }
    this.m.inputs.inc({ kind: event.kind, source: at.source });
    // processors see inputs one at a time, in log order, as a replay of the log does
    const turn = this.dispatchTail.then(() => this.dispatch({ logged, event }, span));
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

  private handle(r: Registration, input: Input): Output[] | Promise<Output[]> {
    return decide(r.processor, input, this.o.log, (t0) => this.observe('decide', t0));
  }

  /**
   * Hands one logged input to each processor that consumes its kind. Outputs decided at once that a
   * processor here consumes are logged and handed on before this returns (so before the next input);
   * others are logged and published as they come. The promise it returns settles with all of them.
   */
  private async dispatch(input: Input, trace?: TraceSpan): Promise<{ all: Promise<Output[]>[] }> {
    const all: Promise<Output[]>[] = [];
    const t0 = performance.now();
    for (const r of this.registrations) {
      if (!r.processor.consumes.includes(input.event.kind)) continue;
      // a processor's turn, as a span of the input's trace when it has one
      const { result, span } = Tracing.within(this.o.tracing, trace, `step ${r.name ?? 'processor'}`, stepAttributes(input), () => this.handle(r, input));
      if (!Array.isArray(result)) {
        all.push(result.then((outs) => this.emit(r, outs, input, t0, 0, span)));
        continue;
      }
      if (result.length === 0) continue;
      const emitted = this.emit(r, result, input, t0, 0, span);
      all.push(emitted);
      if (this.handOffLocally && result.some((x) => x.event && this.consumes(x.event.kind))) await emitted.catch(() => undefined);
    }
    // wrapped: the promises returned as such would be waited for by the caller
    return { all };
  }

  private reject(code: RejectCode, reason: string, topic: string, text: string, source: InputSource) {
    this.m.rejected.inc({ reason: code, source });
    return logRejected(
      { log: this.o.log, eventLog: this.o.eventLog, broker: this.broker, deadLetter: this.o.config.topics.deadLetter },
      { code, reason, topic, text, source },
    );
  }

  /**
   * A processor's outputs: appended in one batch, then published in order, then handed to the
   * processors here that consume them. A failed publication is logged and counted; the output stays in
   * the log. Resolves with the outputs and those they caused in turn.
   */
  private async emit(r: Registration, outputs: Output[], input: Input, t0 = performance.now(), attempt = 0, trace?: TraceSpan): Promise<Output[]> {
    if (outputs.length === 0) return outputs;
    let logged: LoggedEvent[];
    const appendStart = performance.now();
    const appending = trace && this.o.tracing?.child(trace, 'append', { 'storeflow.events': outputs.length });
    const link = appending && this.o.tracing?.link(appending);
    try {
      logged = await this.o.eventLog.append(outputs.map((o) => outputRecord(o, link)));
      Tracing.end(appending);
    } catch (err) {
      Tracing.end(appending, err);
      this.o.log.error({ err, cause: input.logged.messageId }, 'could not log outputs; not published');
      return [];
    }
    this.observe('append_output', appendStart);
    if (logged.some((e) => e.skipped)) {
      // another process (a replica) got ahead on this customer's stream, or logged this very output: what the log
      // did not take is neither published nor handed on; the processor decides again from the log
      const why = logged.some((e) => e.skipped === 'conflict') ? 'conflict' : 'duplicate';
      this.m.skipped.inc({ reason: why });
      const kept = outputs.filter((_, i) => !logged[i].skipped);
      const keptLogged = logged.filter((e) => !e.skipped);
      const done = kept.length ? await this.deliver(r, kept, keptLogged, input, t0, trace) : [];
      if (!r.processor.reconcile) return done;
      if (attempt >= 10) {
        this.o.log.error({ cause: input.logged.messageId, why }, 'outputs refused by the log ten times; giving up on this input');
        return done;
      }
      try {
        const again = await r.processor.reconcile(input, why);
        return [...done, ...(await this.emit(r, again, input, t0, attempt + 1, trace))];
      } catch (err) {
        // only at shutdown (a rebuild waits out a database outage): the input stays undecided in the log, which
        // the next start's recovery decides
        this.o.log.warn({ err, cause: input.logged.messageId }, 'could not decide again from the log');
        return done;
      }
    }
    return this.deliver(r, outputs, logged, input, t0, trace);
  }

  /** Logged outputs: published in order, then handed to the processors here that consume them. */
  private async deliver(r: Registration, outputs: Output[], logged: LoggedEvent[], input: Input, t0: number, trace?: TraceSpan): Promise<Output[]> {
    const broker = this.broker;
    const sent = performance.now();
    const tracing = this.o.tracing;
    for (const o of outputs) {
      this.m.outputs.inc({ type: o.type });
      if (!o.publish || !broker) continue;
      const topic = o.publish.topic;
      const span = trace && tracing?.publishing(trace, topic);
      // written to the socket in order now; the broker's acknowledgement is not waited for (nothing here needs it)
      broker.send(topic, o.publish.payload, { id: o.messageId, ...(span && tracing ? { trace: tracing.carrier(span) } : {}) }, (err) => {
        Tracing.end(span, err);
        if (!err) return this.observe('publish', sent);
        this.m.publishFailures.inc({ type: o.type });
        this.o.log.warn({ err, topic }, 'publication failed (the output is in the log)');
      });
    }
    r.onLogged?.(outputs, input, performance.now() - t0);
    if (!this.handOffLocally) return outputs;
    const caused: Output[] = [];
    for (let i = 0; i < outputs.length; i++) {
      const event = outputs[i].event;
      // handed on here: the output's processing continues the trace of the input that caused it
      if (event && this.consumes(event.kind)) caused.push(...(await Promise.all((await this.dispatch({ logged: logged[i], event }, trace)).all)).flat());
    }
    return caused.length ? [...outputs, ...caused] : outputs;
  }
}
