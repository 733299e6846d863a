/**
 * bench:recommender's comparisons of storeflow against itself. --kafka-client: each client's median sustained rate.
 * --tracing: storeflow's part once per OpenTelemetry setting (off, or the share of traces sampled
 * with OTEL_TRACES_SAMPLER=parentbased_traceidratio), the spans exported over OTLP/HTTP to a sink in a process of its
 * own (a collector elsewhere would not share storeflow's CPU), and each setting's median sustained rate against off.
 */
import { spawn } from 'node:child_process';
import { freePort } from '../adapters/edges/ports.ts';
import type { BenchRow } from './bench-report.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Each Kafka client's median sustained rate (and its runs) against the size-matched echo, and the new one against kafkajs. */
export function clientSummary(clients: string[], runs: { client: string; rate: number }[], sizedRate: number): void {
  const of = (client: string) => median(runs.filter((r) => r.client === client).map((r) => r.rate));
  for (const client of new Set(clients)) {
    const all = runs.filter((r) => r.client === client).map((r) => Math.round(r.rate));
    console.log(
      `${client}: median sustained ${Math.round(of(client))}/s of ${all.join(', ')} = ${(of(client) / sizedRate).toFixed(2)} of the size-matched echo`,
    );
  }
  if (clients.includes('kafkajs') && clients.includes('platformatic'))
    console.log(`@platformatic/kafka / kafkajs, median sustained: ${(of('platformatic') / of('kafkajs')).toFixed(2)}`);
}

/** `off,0.01,1` → the settings (undefined: tracing off); undefined when a value is neither off nor a ratio. */
export function parseTracing(arg: string | undefined): (number | undefined)[] | undefined {
  const settings = (arg ?? 'off').split(',').map((x) => (x.trim() === 'off' ? undefined : Number(x)));
  return settings.some((r) => r !== undefined && !(r >= 0 && r <= 1)) ? undefined : settings;
}

export const tracingName = (ratio: number | undefined) => (ratio === undefined ? 'tracing off' : `tracing ${ratio * 100} %`);

/** An OTLP/HTTP endpoint that reads and drops what it is sent; `env(ratio)` points storeflow at it. */
export async function spanSink(): Promise<{ env: (ratio: number | undefined) => Record<string, string>; stop: () => void }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['-e', `require('http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(${port}, '127.0.0.1', () => console.log('up'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((ok) => child.stdout?.once('data', ok));
  return {
    env: (ratio): Record<string, string> =>
      ratio === undefined
        ? {}
        : { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: String(ratio) },
    stop: () => child.kill(),
  };
}

/** Each traced setting's median sustained rate against tracing off's, printed, as rows for --json. */
export function tracingRows(settings: (number | undefined)[], runs: { tracing?: number; rate: number }[], where: string): BenchRow[] {
  const rate = (t: number | undefined) => median(runs.filter((r) => r.tracing === t).map((r) => r.rate));
  const off = rate(undefined);
  const rounds = runs.filter((r) => r.tracing === undefined).length;
  return settings
    .filter((t) => t !== undefined)
    .map((t) => {
      const r = rate(t);
      console.log(`${tracingName(t)}: ${Math.round(r)}/s sustained (median of ${rounds}) = ${(r / off).toFixed(3)} of tracing off (${Math.round(off)}/s)`);
      return {
        figure: `recommender (${where}): sustained, ${tracingName(t)}`,
        value: Math.round(r),
        unit: '/s',
        baseline: { what: `tracing off, median of ${rounds}`, value: Math.round(off) },
        ratio: r / off,
        ...(t === 0.01 ? { target: '≥ 0.95 of tracing off', met: r / off >= 0.95 } : {}),
      };
    });
}
