/**
 * OpenTelemetry traces, one per input, exported over OTLP/HTTP with the standard `OTEL_*` variables:
 *   receive <topic>   the input from the transport, continuing a W3C `traceparent` it carried (MQTT 5 user
 *   │                 properties, Kafka or AMQP headers), else starting a trace
 *   ├─ append         the wait for the input's group commit; the commit itself is one `commit` span per
 *   │                 group commit, linked to every trace whose events it carries
 *   └─ step <role>    a processor's turn with the input (its machine's step)
 *      ├─ append      the wait for its outputs' commit
 *      └─ publish <topic>  what it published carries this span as its `traceparent` (MQTT 5, Kafka)
 * An output handed to another processor of the process (the detector's focus to the recommender) continues the
 * trace of the input that caused it.
 * On when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set and OTEL_SDK_DISABLED is not
 * true; off, nothing is created and nothing is loaded. Each app owns its tracer provider (no global registration:
 * tests run several apps in one process).
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import type { TraceLink } from '../../actors/kernel/event-log.ts';
import type { Sampler } from '@opentelemetry/sdk-trace';
import type { Logger } from './logger.ts';
import type { TracingConfig } from '../../schemas/env.ts';

/** The W3C trace-context fields a message carries. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The spans of one input's trace that its later steps hang from. */
export type TraceSpan = Span;

export class Tracing {
  private constructor(
    private readonly tracer: Tracer,
    private readonly provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> },
    private readonly propagator: TextMapPropagator<TraceCarrier>,
  ) {}

  /** The tracer the settings ask for; its SDK and exporter are loaded here, only when tracing is on. */
  static async start(s: TracingConfig, log: Logger): Promise<Tracing> {
    const [sdk, { W3CTraceContextPropagator }, resources, exporterModule] = await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      s.protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
    ]);
    const root = s.sampler.endsWith('always_off')
      ? new sdk.AlwaysOffSampler()
      : s.sampler.endsWith('traceidratio')
        ? new sdk.TraceIdRatioBasedSampler(s.ratio)
        : new sdk.AlwaysOnSampler();
    const chosen = s.sampler.startsWith('parentbased_') ? new sdk.ParentBasedSampler({ root }) : root;
    // a group commit is a root span of its own: sampled by itself at a ratio it would miss most sampled traces, so it
    // is recorded whenever it carries one (it is made only then)
    const sampler: Sampler = {
      shouldSample: (ctx, traceId, name, kind, attributes, links) =>
        name === 'commit' && links.length > 0
          ? { decision: sdk.SamplingDecision.RECORD_AND_SAMPLED }
          : chosen.shouldSample(ctx, traceId, name, kind, attributes, links),
      toString: () => `commits with their traces, else ${chosen.toString()}`,
    };
    // OTEL_RESOURCE_ATTRIBUTES (read by the SDK) adds to the service's name
    const resource = resources
      .defaultResource()
      .merge(resources.detectResources({ detectors: [resources.envDetector] }))
      .merge(resources.resourceFromAttributes({ 'service.name': s.serviceName }));
    // the exporter reads OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT itself
    const exporter = new exporterModule.OTLPTraceExporter({ url: s.url });
    const provider = new sdk.TracerProvider({
      sampler,
      resource,
      spanProcessors: [new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: s.scheduleDelayMs })],
    });
    log.info(
      { url: s.url, protocol: s.protocol, sampler: s.sampler, ...(s.sampler.endsWith('traceidratio') ? { ratio: s.ratio } : {}) },
      'OpenTelemetry: exporting traces over OTLP/HTTP',
    );
    return new Tracing(provider.getTracer('storeflow'), provider, new W3CTraceContextPropagator());
  }

  /** An input from a transport: continues the trace it carries, else starts one. */
  receive(topic: string, source: string, carrier?: TraceCarrier): TraceSpan {
    const parent = carrier?.traceparent ? this.propagator.extract(ROOT_CONTEXT, carrier, getter) : ROOT_CONTEXT;
    // attributes only on a recorded span: the SDK checks and copies them before sampling, and most traces are not
    // sampled (the standard samplers do not read them)
    const span = this.tracer.startSpan(`receive ${topic}`, { kind: SpanKind.CONSUMER }, parent);
    if (span.isRecording()) span.setAttributes({ 'messaging.system': source, 'messaging.destination.name': topic, 'messaging.operation.type': 'receive' });
    return span;
  }

  /** An input's `receive` span around `take`: its outcome as an attribute, failed when `take` throws. */
  async input<T extends { status: string }>(
    topic: string,
    source: string,
    carrier: TraceCarrier | undefined,
    take: (span: TraceSpan) => Promise<T>,
  ): Promise<T> {
    const span = this.receive(topic, source, carrier);
    try {
      const result = await take(span);
      span.setAttribute('storeflow.input', result.status);
      Tracing.end(span);
      return result;
    } catch (err) {
      Tracing.end(span, err);
      throw err;
    }
  }

  /** `run` as a span below `parent` (no tracing or no parent: just run), ended when its result settles, failed when it throws. */
  static within<T>(
    tracing: Tracing | undefined,
    parent: TraceSpan | undefined,
    name: string,
    attributes: () => Attributes,
    run: () => T | Promise<T>,
  ): { result: T | Promise<T>; span?: TraceSpan } {
    if (!tracing || !parent) return { result: run() };
    if (!sampled(parent)) return { result: run(), span: parent };
    const span = tracing.child(parent, name, attributes());
    try {
      const result = run();
      if (result instanceof Promise)
        result.then(
          () => Tracing.end(span),
          (err) => Tracing.end(span, err),
        );
      else Tracing.end(span);
      return { result, span };
    } catch (err) {
      Tracing.end(span, err);
      throw err;
    }
  }

  /** A processor's turn with `input` (`step <role>`, what it says of its input) as a span below `parent`. */
  static step<T>(
    tracing: Tracing | undefined,
    parent: TraceSpan | undefined,
    role: string | undefined,
    input: { event: { kind: string }; logged: { position: number } },
    run: () => T | Promise<T>,
  ): { result: T | Promise<T>; span?: TraceSpan } {
    // an unnamed argument, not a named closure: the loader names each named closure it makes (tsx's keepNames)
    return Tracing.within(
      tracing,
      parent,
      `step ${role ?? 'processor'}`,
      () => ({ 'storeflow.kind': input.event.kind, 'storeflow.position': input.logged.position }),
      run,
    );
  }

  /**
   * A step below `parent` in the same trace. Below a trace that is not sampled, `parent` itself: no span would be
   * recorded, and what is propagated (the trace id, not sampled) is the same.
   */
  child(parent: TraceSpan, name: string, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL): TraceSpan {
    if (!sampled(parent)) return parent;
    return this.tracer.startSpan(name, { kind, attributes }, trace.setSpan(ROOT_CONTEXT, parent));
  }

  /** A publication's span below `parent`: its `carrier` goes out with the message. */
  publishing(parent: TraceSpan, topic: string): TraceSpan {
    return this.child(parent, `publish ${topic}`, { 'messaging.destination.name': topic, 'messaging.operation.type': 'send' }, SpanKind.PRODUCER);
  }

  /** What a publication carries so that its consumer continues the trace of `span`. */
  carrier(span: TraceSpan): TraceCarrier {
    const c: TraceCarrier = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), c, setter);
    return c;
  }

  /** How an event appended in `span` names its trace to the group commit that carries it. */
  link(span: TraceSpan): TraceLink | undefined {
    const c = span.spanContext();
    return span.isRecording() ? { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags } : undefined;
  }

  /** One group commit, after the fact: from `startMs` to `endMs` (epoch ms), linked to every trace it carried. */
  commit(startMs: number, endMs: number, events: number, carried: TraceLink[]): void {
    if (carried.length === 0) return;
    const links: Link[] = carried.map((c) => ({ context: { ...c, isRemote: false } }));
    this.tracer
      .startSpan(
        'commit',
        { kind: SpanKind.CLIENT, startTime: startMs, links, attributes: { 'db.system.name': 'postgresql', 'storeflow.events': events } },
        ROOT_CONTEXT,
      )
      .end(endMs);
  }

  /** Ends `span`, marked as failed when `err` is given. */
  static end(span: TraceSpan | undefined, err?: unknown): void {
    if (!span) return;
    if (err) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    span.end();
  }

  /** Exports what is pending (at shutdown, and for tests that read the spans). */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

/** Whether `span`'s trace is recorded (read from its context: an ended span no longer says it is recording). */
const sampled = (span: TraceSpan) => (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;

const getter: TextMapGetter<TraceCarrier> = {
  keys: (c: TraceCarrier) => Object.keys(c),
  get: (c: TraceCarrier, key: string) => (key === 'traceparent' || key === 'tracestate' ? c[key] : undefined),
};
const setter: TextMapSetter<TraceCarrier> = {
  set: (c: TraceCarrier, key: string, value: string) => {
    if (key === 'traceparent' || key === 'tracestate') c[key] = value;
  },
};
