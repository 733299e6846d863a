/** The pipeline's metrics: inputs by kind and source, what was refused or dropped, outputs, and time per stage. */
import type { Metrics } from './metrics.ts';

export function pipelineMetrics(metrics: Metrics) {
  return {
    inputs: metrics.counter('storeflow_inputs_total', 'Inputs accepted and logged', ['kind', 'source']),
    rejected: metrics.counter('storeflow_inputs_rejected_total', 'Inputs rejected (bad JSON, schema, unknown department, too large)', ['reason', 'source']),
    duplicates: metrics.counter('storeflow_inputs_duplicate_total', 'Inputs dropped as duplicates of logged ones', ['source']),
    orphans: metrics.counter('storeflow_inputs_orphaned_total', 'Inputs another process logged and never decided (it died), decided here'),
    resent: metrics.counter(
      'storeflow_outputs_resent_total',
      'Outputs published again: their input, seen through already, was delivered again (its writer may have died before sending them)',
    ),
    outputs: metrics.counter('storeflow_outputs_total', 'Outputs logged and published', ['type']),
    publishFailures: metrics.counter('storeflow_publish_failures_total', 'Publications that failed after logging', ['type']),
    skipped: metrics.counter(
      'storeflow_outputs_refused_total',
      'Outputs the log did not take: another writer appended to the stream first (conflict) or logged the same output (duplicate); decided again from the log',
      ['reason'],
    ),
    stage: metrics.histogram(
      'storeflow_pipeline_stage_duration_seconds',
      'Time in each stage: append_unit (an input and its outputs to the log, one unit), decide (a processor, until its outputs), append_input and append_output (an input logged first, and its outputs), publish (until the broker acknowledged)',
      ['stage'],
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ),
  };
}
