/**
 * The engine's live mode, one per process: an input from the transport or HTTP is normalised and de-duplicated; a
 * customer's inputs go on one at a time (the next once what the previous caused is committed). Where every processor
 * that consumes it takes it uncommitted (the customer's state follows the log), the input and every output it caused
 * are one unit: decided, then committed in one append (many customers' units share a group commit), then published and
 * acknowledged (adapters/engine/engine.ts `unit`). Otherwise, or when the log refused the unit (another writer got
 * ahead, a value it cannot store), the input is appended first, then run by the engine (each processor that consumes
 * its kind, one at a time, in log order; its outputs logged, published and handed on); at start, what a restart left undone is
 * run through the same engine (recovery) before the transport's inputs. A process's own publications reach its
 * processors by one path only: locally when the broker keeps a client's own publications from it (MQTT 5 no-local; the
 * embedded broker too), else through the broker like anyone else's.
 * Bad input never throws: a warning, a metric, an optional dead-letter publication, a `rejected` log entry.
 */
import type { Config } from '../../schemas/env.ts';
import type { EventKind, StoreEvent } from '../../schemas/events.ts';
import { toFlat } from '../../schemas/events.ts';
import { normalise, type RejectCode } from '../../schemas/normalise.ts';
import type { EventLog, LoggedEvent, NewEvent } from '../../actors/kernel/event-log.ts';
import { isAboutTheRows } from '../edges/postgres-log-insert.ts';
import type { TransportClient as Broker, Transport } from '../edges/transport.ts';
import type { Logger } from './logger.ts';
import {
  inputId,
  loggedInputId,
  type Input,
  type InputSource,
  type IngestResult,
  type Output,
  type Processor,
  type Registration,
} from './processor-contract.ts';
import type { Metrics } from './metrics.ts';
import { pipelineMetrics } from './pipeline-metrics.ts';
import { SeenInputs } from './seen-inputs.ts';
import { anyOf } from './logged-ids.ts';
import { logRejected } from './rejected-input.ts';
import { kindTopics } from './kind-topics.ts';
import { Tracing, type TraceCarrier, type TraceSpan } from './tracing.ts';
import { appendedTo, Engine, type UnitResult } from '../engine/engine.ts';
import { CustomerTurns } from './customer-turns.ts';
import { recoverAll } from '../engine/restart.ts';
import { must } from '../../actors/kernel/must.ts';
import { Unacknowledged } from './unacknowledged.ts';

export interface PipelineOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  eventLog: EventLog;
  /** Inputs come in by it and outputs leave by it; it says whether they come back (the process closes its clients). */
  transport: Transport;
  /** How long an input id is remembered for de-duplication (ms). */
  dedupWindowMs?: number;
  /** OpenTelemetry: one trace per input (none: no span is made). */
  tracing?: Tracing;
}

/** Where an input came from. */
type From = { source: InputSource; topic?: string };
/** An input taken: what the caller hears, and (`through`) when what it caused is committed. */
type Taken = { result: IngestResult; through?: Promise<unknown> };

export class Pipeline {
  /** The one runner: processors, their outputs' log, publication and hand-off (adapters/engine/engine.ts). */
  readonly engine: Engine;
  private seen: SeenInputs;
  private broker?: Broker;
  /** Publications not yet taken, when an input is acknowledged only once its outputs are (Transport.acksAfterPublication). */
  private unacked?: Unacknowledged;
  private readonly kindTopic: Map<EventKind, string>;
  private readonly topicKinds: Map<string, EventKind>;
  private started = false;
  private dispatchTail: Promise<unknown> = Promise.resolve();
  /** Each customer's inputs one at a time: the next once what the previous caused is committed. */
  private readonly turns = new CustomerTurns();
  private readonly m;
  /** Whether outputs go to this process's processors locally (true) or come back through the broker. */
  readonly handOffLocally: boolean;

  constructor(private o: PipelineOptions) {
    this.seen = new SeenInputs(o.dedupWindowMs ?? 10 * 60_000);
    this.kindTopic = kindTopics(o.config.topics);
    this.topicKinds = new Map([...this.kindTopic].map(([kind, topic]) => [topic, kind]));
    this.handOffLocally = o.transport.handsOffLocally;
    this.m = pipelineMetrics(o.metrics);
    this.engine = new Engine({
      outputs: appendedTo(o.eventLog),
      units: o.eventLog,
      handOffLocally: this.handOffLocally,
      log: o.log,
      metrics: this.m,
      tracing: o.tracing,
    });
  }

  /** A processor of this process: its kinds are consumed from the broker, HTTP and the other processors' outputs. */
  register(r: Registration): void {
    this.engine.register(r);
  }

  /** The processors of this process, in registration order. */
  get processors(): Processor[] {
    return this.engine.processors;
  }

  private consumes(kind: EventKind): boolean {
    return this.engine.consumes(kind);
  }

  topicFor(kind: EventKind): string {
    return must(this.kindTopic.get(kind), `the topic of ${kind}`);
  }

  /** Connect, run what a restart left undone (recovery), then subscribe (what the broker kept waits, unacknowledged). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.seen.recall(this.o.eventLog);
    const kinds = this.engine.kinds;
    if (kinds.length === 0) return;
    this.broker = await this.o.transport.connect('pipeline');
    if (this.o.transport.acksAfterPublication) this.unacked = new Unacknowledged(this.broker);
    this.engine.transport = this.unacked ?? this.broker;
    await recoverAll(this.engine, this.o.log);
    const topics = kinds.map((k) => this.topicFor(k));
    await this.broker.subscribe(
      topics,
      (topic, payload, meta) => {
        const kind = this.topicKinds.get(topic);
        if (!kind || !this.consumes(kind)) return;
        // the broker's acknowledgement waits for this: an input is acked once it is in the log (Kafka: and once what it
        // caused is published)
        const taking = this.ingest(kind, payload, {
          source: this.o.transport.source,
          topic,
          brokerMessageId: meta.messageId,
          trace: meta.trace,
        });
        return this.unacked ? taking.then((r) => this.published(r)) : taking;
      },
      { noLocal: this.handOffLocally },
    );
    this.o.log.info({ topics, handOff: this.handOffLocally ? 'local' : 'through the broker' }, 'consuming input topics');
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
    // a copy of an input still being appended waits for it: an input counts as seen once it is logged (nothing is
    // awaited otherwise, so two copies delivered together cannot both find it unseen and both append it)
    const earlier = this.seen.appended(messageId);
    if (earlier) await earlier;
    if (this.seen.has(messageId)) {
      this.m.duplicates.inc({ source: at.source });
      this.o.log.debug({ topic, messageId }, 'duplicate input dropped');
      return { status: 'duplicate', messageId };
    }
    const event = n.event;
    const done = this.seen.appending(messageId);
    // a customer's input reaches their actors once what the previous one caused is committed
    const turn = this.turns.next(event.id);
    const release = turn instanceof Promise ? await turn : turn;
    let through: Promise<unknown> | undefined;
    try {
      const record: NewEvent = { streamId: `customer-${event.id}`, type: event.kind, data: toFlat(event), messageId, metadata: { source: at.source, topic } };
      const unit: Input = { logged: { position: 0, version: 0, messageId }, event, uncommitted: true };
      if (this.engine.takesUncommitted(unit)) {
        const result = await this.asUnit(unit, record, at, span, done);
        if (result) {
          through = result.through;
          return result.result;
        }
      }
      const result = await this.logFirst(record, event, { ...at, topic, text }, done, span);
      through = result.through;
      return result.result;
    } finally {
      done();
      release(through);
    }
  }

  /**
   * The input and every output it caused as one unit, one append (adapters/engine/engine.ts `unit`). Undefined when the
   * log refused it with nothing written (another writer got ahead on the stream, or a value it cannot store): the input
   * is then logged first, and decided again from the log.
   */
  private async asUnit(input: Input, record: NewEvent, at: From, span: TraceSpan | undefined, done: () => void): Promise<Taken | undefined> {
    let u: UnitResult;
    try {
      u = await this.engine.unit(input, record, span);
    } catch (err) {
      if (!isAboutTheRows(err)) throw err; // not logged: not acknowledged, so the broker delivers it again
      return undefined; // logged alone, the input says whether it is the value refused (rejected) or an output is
    }
    if (!u.committed && !u.copy) return undefined;
    this.seen.remember(must(record.messageId, 'an input id'));
    done();
    if (!u.committed) return this.dispatch(must(u.copy, 'the logged copy'), input.event, at, span);
    this.m.inputs.inc({ kind: input.event.kind, source: at.source });
    const outputs = Promise.resolve(u.outputs);
    return { result: { status: 'accepted', logged: u.logged, event: input.event, outputs } };
  }

  /** The input logged on its own first, then handed to the processors (whose outputs follow in later commits). */
  private async logFirst(record: NewEvent, event: StoreEvent, at: From & { topic: string; text: string }, done: () => void, span?: TraceSpan): Promise<Taken> {
    let logged: LoggedEvent;
    const appending = span && this.o.tracing?.child(span, 'append');
    try {
      // waits out a database outage (the log retries); fails only for a row the database refuses, or at shutdown
      const appendStart = performance.now();
      [logged] = await this.o.eventLog.append([{ ...record, trace: appending && this.o.tracing?.link(appending) }]);
      this.seen.remember(must(record.messageId, 'an input id'));
      this.observe('append_input', appendStart);
    } catch (err) {
      Tracing.end(appending, err);
      if (!isAboutTheRows(err)) throw err; // not logged: not acknowledged, so the broker delivers it again
      const reason = `the database refused the input: ${(err as Error).message}`;
      await this.reject('unstorable', reason, at.topic, at.text, at.source);
      return { result: { status: 'rejected', code: 'unstorable', reason } };
    } finally {
      done();
      // ended once: with the error in the catch above, else here
      if (appending?.isRecording()) Tracing.end(appending);
    }
    return this.dispatch(logged, event, at, span);
  }

  /**
   * A logged input to the processors, in log order as a replay of the log hands them. One logged already (by this
   * process before a restart, or by another) is a duplicate, unless no one decided it (orphaned): then it is decided here.
   */
  private async dispatch(logged: LoggedEvent, event: StoreEvent, at: From, span: TraceSpan | undefined): Promise<Taken> {
    const messageId = loggedInputId(logged);
    if (logged.skipped && !(await this.orphaned(logged, event))) {
      // logged already, by this process before a restart or by another replica: the log's unique id says so
      this.m.duplicates.inc({ source: at.source });
      this.o.log.debug({ topic: at.topic, messageId, position: logged.position }, 'duplicate input dropped (in the log already)');
      await this.sendAgain({ logged, event });
      return { result: { status: 'duplicate', messageId } };
    }
    this.m.inputs.inc({ kind: event.kind, source: at.source });
    // processors see inputs one at a time, in log order, as a replay of the log does
    const turn = this.dispatchTail.then(() => this.engine.run({ logged, event }, span));
    this.dispatchTail = turn.catch(() => undefined);
    const all = await turn;
    let settled: Promise<Output[]> | undefined;
    const outputs = () => (settled ??= Promise.resolve(Engine.settled(all)));
    return {
      result: {
        status: 'accepted',
        logged,
        event,
        // made only when asked for (an HTTP caller waits for it; the broker does not)
        get outputs() {
          return outputs();
        },
      },
      // the customer's next input waits for what this one caused to be logged
      through: outputs(),
    };
  }

  /**
   * An input another process logged and did not see through (it died between the two; the broker or Kafka then
   * delivers it here): none of the outcomes a processor here would log for it is in the log. It is handled now;
   * should the other still be at work, the log takes one decision (unique output ids) and the other is reconciled.
   */
  private async orphaned(logged: LoggedEvent, event: StoreEvent): Promise<boolean> {
    const ids = this.engine.registered.flatMap((r) => (r.processor.consumes.includes(event.kind) ? (r.processor.outcomes?.({ logged, event }) ?? []) : []));
    if (ids.length === 0) return false;
    const done = await anyOf(this.o.eventLog, ids);
    if (!done) {
      this.m.orphans.inc();
      this.o.log.info({ messageId: logged.messageId, position: logged.position }, 'an input logged by another process and never decided: deciding it here');
    }
    return !done;
  }

  /**
   * An input seen through already, delivered again (a partition's new owner reads what a dead replica had not
   * acknowledged; a restart reads what it had not): what it published goes out again, since whoever logged it may
   * have died before sending it (at-least-once, same ids). Resolves once the broker took it, where that is waited for.
   */
  private async sendAgain(input: Input): Promise<void> {
    const broker = this.engine.transport;
    if (!broker) return;
    for (const r of this.engine.registered) {
      if (!r.processor.resend || !r.processor.consumes.includes(input.event.kind)) continue;
      const again = await r.processor.resend(input);
      if (again.length === 0) continue;
      this.m.resent.inc(again.length);
      this.o.log.info(
        { messageId: input.logged.messageId, outputs: again.length },
        'an input seen through already, delivered again: its outputs published again',
      );
      for (const o of again) if (o.publish) broker.send(o.publish.topic, o.publish.payload, { id: o.messageId });
      await this.unacked?.taken(again);
    }
  }

  /** `r` once what its input caused is logged and taken by the broker (Transport.acksAfterPublication). */
  private async published(r: IngestResult): Promise<IngestResult> {
    if (r.status === 'accepted') await this.unacked?.taken(await r.outputs);
    return r;
  }

  private observe(stage: 'append_input', since: number) {
    this.engine.observe(stage, since);
  }

  private reject(code: RejectCode, reason: string, topic: string, text: string, source: InputSource) {
    this.m.rejected.inc({ reason: code, source });
    return logRejected(
      { log: this.o.log, eventLog: this.o.eventLog, broker: this.broker, deadLetter: this.o.config.topics.deadLetter },
      { code, reason, topic, text, source },
    );
  }
}
