/**
 * The engine: the one runner every mode drives (live, recovery at start, replay, a partial export's plan, the quality
 * bench). A logged input is handed to each processor that consumes its kind, one at a time, in registration order;
 * the outputs it caused go to the output log in one batch, are published on the transport with their stable ids, and
 * are handed to the processors here that consume them (the detector's focus, for the recommender) before the next
 * processor; outputs the log refused are decided again (`reconcile`). Modes differ only in the ports they hand it: the
 * output log (the event log, or a replay's comparing log), the transport (or none) and the hand-off.
 *
 * Live, an input not logged yet goes as one unit where its processors take it so (`unit`): decided first, then the
 * input and its outputs committed in one append, then published.
 *
 * Synchronous whenever the processors and the output log answer at once (a replay, a synchronous scorer): no promise
 * is made on that path, so a replay runs at the speed of its machines.
 */
import type { EventKind } from '../../schemas/events.ts';
import type { EventLog, LoggedEvent, NewEvent, TraceLink } from '../../actors/kernel/event-log.ts';
import { outputRecord, type Input, type LoggedInput, type Output, type Processor, type Recovery, type Registration } from '../process/processor-contract.ts';
import type { Logger } from '../process/logger.ts';
import type { TransportClient as Broker } from '../edges/transport.ts';
import type { pipelineMetrics } from '../process/pipeline-metrics.ts';
import { decide } from './decide.ts';
import { Tracing, type TraceSpan } from '../process/tracing.ts';

/** A value now, or later. */
export type Maybe<T> = T | Promise<T>;

/** An output as its log took it: where it sits, or (`skipped`) why it was not written. */
export type LoggedOutput = LoggedInput & { skipped?: LoggedEvent['skipped'] };

/** Where outputs are kept: the event log (live, recovery), or a replay's comparing log. */
export interface OutputLog {
  /** `cause`: the input they came from; `trace`: the span they are appended in. */
  append(outputs: Output[], cause: Input, trace?: TraceLink): Maybe<LoggedOutput[]>;
}

/** The event log as the output log (live, recovery): outputs appended as records, in one batch. */
export function appendedTo(log: Pick<EventLog, 'append'>): OutputLog {
  return { append: (outputs, _cause, trace) => log.append(outputs.map((o) => outputRecord(o, trace))) };
}

export interface EnginePorts {
  outputs: OutputLog;
  /** Where an input not yet logged is committed with its outputs as one unit (live: the event log); none: never. */
  units?: Pick<EventLog, 'append'>;
  /** Whether outputs go to this engine's processors locally (true) or come back as inputs (through the broker, or the log in replay). */
  handOffLocally: boolean;
  log: Logger;
  metrics?: ReturnType<typeof pipelineMetrics>;
  tracing?: Tracing;
}

/** What one input's turn caused: each processor's outputs (now, or once an asynchronous decision is in). */
export type Turn = Maybe<Output[]>[];

/**
 * A unit's fate: committed (where its input sits, and every output it caused, those handed on included), or refused
 * whole, nothing of it written (`copy`: the input as another process logged it already).
 */
export type UnitResult = { committed: true; logged: LoggedEvent; outputs: Output[] } | { committed: false; copy?: LoggedEvent };

export class Engine {
  private registrations: Registration[] = [];
  /** Where outputs are published (none: replay, or a live engine before its transport is connected). */
  transport?: Pick<Broker, 'send'>;

  constructor(private readonly p: EnginePorts) {}

  get handOffLocally(): boolean {
    return this.p.handOffLocally;
  }

  /** A processor: it is handed the inputs of the kinds it consumes, after those registered before it. */
  register(r: Registration): void {
    this.registrations.push(r);
  }

  /** A processor no longer run (a replay's detector replaced where the log says one started again). */
  unregister(processor: Processor): void {
    this.registrations = this.registrations.filter((r) => r.processor !== processor);
  }

  /** The processors, in registration order. */
  get processors(): Processor[] {
    return this.registrations.map((r) => r.processor);
  }

  /** The kinds some processor here consumes. */
  get kinds(): EventKind[] {
    return [...new Set(this.registrations.flatMap((r) => r.processor.consumes))];
  }

  consumes(kind: EventKind): boolean {
    return this.registrations.some((r) => r.processor.consumes.includes(kind));
  }

  /** The processors' registrations (recovery asks each what to run again). */
  get registered(): readonly Registration[] {
    return this.registrations;
  }

  /**
   * One logged input through each processor that consumes its kind. Outputs decided at once that a processor here
   * consumes are logged and handed on before the next processor (so before the next input); others are logged and
   * published as they come. The turn holds each processor's outputs.
   */
  run(input: Input, trace?: TraceSpan): Maybe<Turn> {
    return this.turn(input, trace, 0, [], performance.now());
  }

  /** Whether the input, not yet logged, can go as one unit: every processor that consumes it takes it uncommitted. */
  takesUncommitted(input: Input): boolean {
    if (!this.p.units) return false;
    let any = false;
    for (const r of this.registrations) {
      if (!r.processor.consumes.includes(input.event.kind)) continue;
      if (!r.processor.takesUncommitted?.(input)) return false;
      any = true;
    }
    return any;
  }

  /**
   * One input not yet logged (`record`: as the log takes it), as one unit: each processor that consumes it decides, then
   * the input and every output it caused are appended in one append (units of many customers share a group commit),
   * and only then published, heard and handed on. A refused unit is told to its processors (they forget the customer:
   * the input's next pass makes them again from the log) and nothing of it leaves. Throws what the append threw, once
   * the processors are told.
   */
  async unit(input: Input, record: NewEvent, trace?: TraceSpan): Promise<UnitResult> {
    const units = this.p.units;
    if (!units) throw new Error('no log for units');
    const t0 = performance.now();
    const regs = this.registrations.filter((r) => r.processor.consumes.includes(input.event.kind));
    const decided: Output[][] = [];
    // each processor's turn, as a span of the input's trace when it has one (its publications hang below it)
    const steps: (TraceSpan | undefined)[] = [];
    for (const r of regs) {
      const { result, span } =
        this.p.tracing && trace
          ? Tracing.step(this.p.tracing, trace, r.name, input, () => this.handle(r, input))
          : { result: this.handle(r, input), span: undefined };
      steps.push(span);
      decided.push(result instanceof Promise ? await result : result);
    }
    const outputs = decided.flat();
    const tracing = this.p.tracing;
    const appending = trace && tracing?.child(trace, 'append', { 'storeflow.events': outputs.length + 1 });
    const link = appending && tracing?.link(appending);
    const appendStart = performance.now();
    let logged: LoggedEvent[];
    try {
      logged = await units.append([{ ...record, trace: link }, ...outputs.map((o) => outputRecord(o, link))], { unit: true });
    } catch (err) {
      Tracing.end(appending, err);
      for (const r of regs) r.processor.committed?.(input, undefined);
      throw err;
    }
    Tracing.end(appending);
    this.observe('append_unit', appendStart);
    const [loggedInput] = logged;
    if (logged.some((e) => e.skipped)) {
      for (const r of regs) r.processor.committed?.(input, undefined);
      this.p.metrics?.skipped.inc({ reason: loggedInput.skipped === 'duplicate' ? 'duplicate' : 'conflict' });
      return { committed: false, copy: loggedInput.skipped === 'duplicate' ? loggedInput : undefined };
    }
    const committed: Input = { logged: loggedInput, event: input.event };
    for (const r of regs) r.processor.committed?.(input, loggedInput);
    // published, heard and handed on as outputs logged on their own are (a processor hears its unit even when it
    // caused nothing: a snapshot taken at it waits for the commit)
    const all: Output[] = [];
    for (let k = 0, i = 1; k < regs.length; i += decided[k].length, k++) {
      const delivered = this.deliver(regs[k], decided[k], logged.slice(i, i + decided[k].length), committed, t0, steps[k] ?? trace);
      all.push(...(delivered instanceof Promise ? await delivered : delivered));
    }
    return { committed: true, logged: loggedInput, outputs: all };
  }

  /** All a turn's outputs and those they caused, once every one is in (at once when they all are). */
  static settled(turn: Maybe<Turn>): Maybe<Output[]> {
    if (turn instanceof Promise) return turn.then((all) => Engine.settled(all));
    if (turn.some((x) => x instanceof Promise)) return Promise.all(turn).then((x) => x.flat());
    return (turn as Output[][]).flat();
  }

  /** Logged inputs through a processor again (recovery); only outputs not yet in the log are appended and published. */
  async recover(r: Registration, { inputs, logged, republish = [], followed, recalled }: Recovery): Promise<void> {
    const replica = r.processor.replica;
    for (const [customerId, version] of followed ?? []) replica?.followed(customerId, version);
    for (const e of recalled ?? []) replica?.recallLogged(e);
    for (const o of republish) if (o.publish) this.transport?.send(o.publish.topic, o.publish.payload, { id: o.messageId });
    const pending: Maybe<Output[]>[] = [];
    const unlogged = (outs: Output[]) => outs.filter((x) => !logged.has(x.messageId));
    for (const input of inputs) {
      const result = this.handle(r, input);
      pending.push(Array.isArray(result) ? this.emit(r, unlogged(result), input) : result.then((outs) => this.emit(r, unlogged(outs), input)));
    }
    await Promise.all(pending);
  }

  private turn(input: Input, trace: TraceSpan | undefined, from: number, all: Turn, t0: number): Maybe<Turn> {
    const regs = this.registrations;
    for (let i = from; i < regs.length; i++) {
      const r = regs[i];
      if (!r.processor.consumes.includes(input.event.kind)) continue;
      // a processor's turn, as a span of the input's trace when it has one
      const { result, span } =
        this.p.tracing && trace
          ? Tracing.step(this.p.tracing, trace, r.name, input, () => this.handle(r, input))
          : { result: this.handle(r, input), span: undefined };
      if (!Array.isArray(result)) {
        all.push(result.then((outs) => this.emit(r, outs, input, t0, 0, span)));
        continue;
      }
      if (result.length === 0) continue;
      const emitted = this.emit(r, result, input, t0, 0, span);
      all.push(emitted);
      if (emitted instanceof Promise && this.p.handOffLocally && result.some((x) => x.event && this.consumes(x.event.kind)))
        return emitted.catch(() => undefined).then(() => this.turn(input, trace, i + 1, all, t0));
    }
    return all;
  }

  private handle(r: Registration, input: Input): Maybe<Output[]> {
    return decide(r.processor, input, this.p.log, (t0) => this.observe('decide', t0));
  }

  /** storeflow_pipeline_stage_duration_seconds{stage}: from `since` (performance.now()) to now. */
  observe(stage: 'append_unit' | 'append_input' | 'decide' | 'append_output' | 'publish', since: number): void {
    this.p.metrics?.stage.observe({ stage }, (performance.now() - since) / 1000);
  }

  /**
   * A processor's outputs: appended in one batch, then published in order, then handed to the processors here that
   * consume them. A failed publication is logged and counted; the output stays in the log. Gives the outputs and those
   * they caused in turn. (Public for tests that interleave two replicas' decisions and their logging.)
   */
  emit(r: Registration, outputs: Output[], input: Input, t0 = performance.now(), attempt = 0, trace?: TraceSpan): Maybe<Output[]> {
    if (outputs.length === 0) return outputs;
    const appendStart = performance.now();
    const tracing = this.p.tracing;
    const appending = trace && tracing?.child(trace, 'append', { 'storeflow.events': outputs.length });
    let logged: Maybe<LoggedOutput[]>;
    try {
      logged = this.p.outputs.append(outputs, input, appending && tracing?.link(appending));
    } catch (err) {
      return this.notLogged(input, appending, err);
    }
    // methods, not closures made per emit (the loader names every named closure it makes: a cost on the hot path)
    return logged instanceof Promise
      ? logged.then(
          (l) => this.taken(r, outputs, l, input, t0, attempt, appendStart, appending, trace),
          (err) => this.notLogged(input, appending, err),
        )
      : this.taken(r, outputs, logged, input, t0, attempt, appendStart, appending, trace);
  }

  private taken(
    r: Registration,
    outputs: Output[],
    logged: LoggedOutput[],
    input: Input,
    t0: number,
    attempt: number,
    appendStart: number,
    appending: TraceSpan | undefined,
    trace: TraceSpan | undefined,
  ): Maybe<Output[]> {
    Tracing.end(appending);
    this.observe('append_output', appendStart);
    if (logged.some((e) => e.skipped)) return this.refused(r, outputs, logged, input, t0, attempt, trace);
    return this.deliver(r, outputs, logged, input, t0, trace);
  }

  private notLogged(input: Input, appending: TraceSpan | undefined, err: unknown): Output[] {
    Tracing.end(appending, err);
    this.p.log.error({ err, cause: input.logged.messageId }, 'could not log outputs; not published');
    return [];
  }

  /**
   * Another process (a replica) got ahead on this customer's stream, or logged this very output: what the log did not
   * take is neither published nor handed on; the processor decides again from the log.
   */
  private async refused(r: Registration, outputs: Output[], logged: LoggedOutput[], input: Input, t0: number, attempt: number, trace?: TraceSpan) {
    const why = logged.some((e) => e.skipped === 'conflict') ? 'conflict' : 'duplicate';
    this.p.metrics?.skipped.inc({ reason: why });
    const kept = outputs.filter((_, i) => !logged[i].skipped);
    const keptLogged = logged.filter((e) => !e.skipped);
    const done = kept.length ? await this.deliver(r, kept, keptLogged, input, t0, trace) : [];
    if (!r.processor.reconcile) return done;
    if (attempt >= 10) {
      this.p.log.error({ cause: input.logged.messageId, why }, 'outputs refused by the log ten times; giving up on this input');
      return done;
    }
    try {
      const again = await r.processor.reconcile(input, why);
      return [...done, ...(await this.emit(r, again, input, t0, attempt + 1, trace))];
    } catch (err) {
      // only at shutdown (a rebuild waits out a database outage): the input stays undecided in the log, which the next
      // start's recovery decides
      this.p.log.warn({ err, cause: input.logged.messageId }, 'could not decide again from the log');
      return done;
    }
  }

  /** Logged outputs: published in order, then handed to the processors here that consume them. */
  private deliver(r: Registration, outputs: Output[], logged: LoggedOutput[], input: Input, t0: number, trace?: TraceSpan): Maybe<Output[]> {
    const transport = this.transport;
    const m = this.p.metrics;
    const sent = performance.now();
    const tracing = this.p.tracing;
    for (const o of outputs) {
      m?.outputs.inc({ type: o.type });
      if (!o.publish || !transport) continue;
      const topic = o.publish.topic;
      const span = trace && tracing?.publishing(trace, topic);
      // written to the socket in order now; the broker's acknowledgement is not waited for (nothing here needs it)
      transport.send(topic, o.publish.payload, { id: o.messageId, ...(span && tracing ? { trace: tracing.carrier(span) } : {}) }, (err) => {
        Tracing.end(span, err);
        if (!err) return this.observe('publish', sent);
        m?.publishFailures.inc({ type: o.type });
        this.p.log.warn({ err, topic }, 'publication failed (the output is in the log)');
      });
    }
    r.onLogged?.(outputs, input, performance.now() - t0);
    if (!this.p.handOffLocally) return outputs;
    return this.handOn(outputs, logged, 0, [], trace);
  }

  /** Outputs a processor here consumes, each run as an input (its processing continues the trace of the input that caused it). */
  private handOn(outputs: Output[], logged: LoggedOutput[], from: number, caused: Output[], trace?: TraceSpan): Maybe<Output[]> {
    for (let i = from; i < outputs.length; i++) {
      const event = outputs[i].event;
      if (!event || !this.consumes(event.kind)) continue;
      const ran = Engine.settled(this.run({ logged: logged[i], event }, trace));
      if (ran instanceof Promise)
        return ran.then((outs) => {
          caused.push(...outs);
          return this.handOn(outputs, logged, i + 1, caused, trace);
        });
      caused.push(...ran);
    }
    return caused.length ? [...outputs, ...caused] : outputs;
  }
}
