/**
 * OpenTelemetry's standard variables that storeflow reads for its traces (adapters/process/tracing.ts): tracing is
 * on when an OTLP endpoint is set. OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and OTEL_RESOURCE_ATTRIBUTES are read by
 * the OpenTelemetry SDK itself.
 */
import { Type } from '@sinclair/typebox';
import { Bool, Enum, Int, Num, Str, Url } from './fields.ts';

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

export const TRACING_VARIABLES = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Url('OTLP/HTTP endpoint of a trace collector (e.g. http://127.0.0.1:4318; traces go to its /v1/traces). Unset = no tracing', [
    'http',
    'https',
  ]),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Url('OTLP/HTTP URL for traces, used as it is (wins over OTEL_EXPORTER_OTLP_ENDPOINT)', ['http', 'https']),
  OTEL_EXPORTER_OTLP_PROTOCOL: Enum('OTLP encoding over HTTP', OTLP_PROTOCOLS, 'http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Type.Optional(Enum('OTLP encoding for traces (wins over OTEL_EXPORTER_OTLP_PROTOCOL)', OTLP_PROTOCOLS)),
  OTEL_TRACES_EXPORTER: Enum('Trace exporter: otlp, or none to turn tracing off', ['otlp', 'none'] as const, 'otlp'),
  OTEL_TRACES_SAMPLER: Enum(
    'Which traces are recorded (parentbased_*: an input whose publisher sampled it is followed)',
    TRACE_SAMPLERS,
    'parentbased_always_on',
  ),
  OTEL_TRACES_SAMPLER_ARG: Num('The ratio of traces a *traceidratio sampler records', 1, 0, 1),
  OTEL_SERVICE_NAME: Str("The service's name on its spans", 'storeflow'),
  OTEL_SDK_DISABLED: Bool('true: no tracing whatever the other variables say', false),
  OTEL_BSP_SCHEDULE_DELAY: Int('Milliseconds between two exports of finished spans', 5000, 0, 3_600_000),
};
