/**
 * bench:recommender's verdict lines and `--json` rows: each storeflow run against the echoes of the same run — the
 * plain echo (the broker's limit), the size-matched echo (the same bytes back) and the durable echo (the same bytes
 * back after a group commit to PostgreSQL: the ceiling of an event-sourced service, issue 32's baseline).
 */
import { must } from '../actors/kernel/must.ts';
import type { BenchRow } from './bench-report.ts';
import type { benchRuns } from './bench-recommender-runs.ts';

type Run = Awaited<ReturnType<ReturnType<typeof benchRuns>['phase']>>;

interface Echoes {
  plain: Run;
  sized: Run;
  durable: Run;
}

const us = (x: number) => `${Math.round(x)} µs`;
const ms = (x: number) => `${x.toFixed(2)} ms`;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** Prints each run against the echoes; returns the rows of each replica count's first untraced run. */
export function reportRuns(o: {
  runs: { replicas: number; tracing?: number; run: Run }[];
  echoes: Echoes;
  rate: number;
  where: string;
  replicas: number[];
}): BenchRow[] {
  const { plain, sized, durable } = o.echoes;
  console.log('');
  for (const { replicas, run: ours } of o.runs) {
    const who = replicas === 1 ? 'focus→prediction' : `${replicas} replicas`;
    const rate = ours.burst.rate;
    console.log(
      `${who}: ${Math.round(rate)}/s sustained = ${(rate / durable.burst.rate).toFixed(2)} of the durable echo (${Math.round(durable.burst.rate)}/s), ${(rate / sized.burst.rate).toFixed(2)} of the size-matched echo (${Math.round(sized.burst.rate)}/s, ${sized.burst.meanBytes} B per reply), ${(rate / plain.burst.rate).toFixed(2)} of the plain echo (${Math.round(plain.burst.rate)}/s, ${plain.burst.meanBytes} B); CPU per focus ${us(ours.burst.cpuPerFocusUs)} vs ${us(durable.burst.cpuPerFocusUs)} for the durable echo, ${us(sized.burst.cpuPerFocusUs)} for the size-matched one`,
    );
    console.log(
      `  at ${o.rate}/s: p99 ${ms(ours.steady.p99)} = ${ms(ours.steady.p99 - durable.steady.p99)} added to the durable echo's ${ms(durable.steady.p99)} (size-matched echo ${ms(sized.steady.p99)}, plain ${ms(plain.steady.p99)}); worst one-second p99 ${ms(worst(ours))} (durable echo ${ms(worst(durable))}); p50 ${ms(ours.steady.p50)} (durable echo ${ms(durable.steady.p50)})`,
    );
  }
  const rows: BenchRow[] = [];
  for (const n of o.replicas) {
    const ours = must(
      o.runs.find((r) => r.replicas === n && r.tracing === undefined),
      'an untraced run',
    ).run;
    const who = `recommender (${o.where}${n > 1 ? `, ${n} replicas` : ''})`;
    const mix = `${ours.burst.meanBytes.toLocaleString('en-US')} B per reply${ours.burst.departmentShare > 0 ? `, ${Math.round(ours.burst.departmentShare * 100)} % department coupons` : ''}`;
    const ofDurable = ours.burst.rate / durable.burst.rate;
    const ofSized = ours.burst.rate / sized.burst.rate;
    const addedDurable = ours.steady.p99 - durable.steady.p99;
    const addedSized = ours.steady.p99 - sized.steady.p99;
    rows.push(
      {
        figure: `${who}: sustained focus→prediction`,
        value: Math.round(ours.burst.rate),
        unit: '/s',
        baseline: { what: 'durable echo (a group commit to PostgreSQL, then the same bytes)', value: Math.round(durable.burst.rate) },
        ratio: ofDurable,
        target: '≥ 0.9 of the durable echo',
        met: ofDurable >= 0.9,
        note: mix,
      },
      {
        figure: `${who}: sustained, against the size-matched echo`,
        value: Math.round(ours.burst.rate),
        unit: '/s',
        baseline: { what: 'size-matched echo', value: Math.round(sized.burst.rate) },
        ratio: ofSized,
        target: '≥ 0.7 of the size-matched echo',
        met: ofSized >= 0.7,
      },
      {
        figure: `${who}: p99 at ${o.rate.toLocaleString('en-US')} focus/s`,
        value: r2(ours.steady.p99),
        unit: 'ms',
        baseline: { what: 'durable echo', value: r2(durable.steady.p99) },
        added: r2(addedDurable),
        target: '≤ 5 ms added to the durable echo',
        met: addedDurable <= 5,
      },
      {
        figure: `${who}: p99 at ${o.rate.toLocaleString('en-US')} focus/s, against the size-matched echo`,
        value: r2(ours.steady.p99),
        unit: 'ms',
        baseline: { what: 'size-matched echo', value: r2(sized.steady.p99) },
        added: r2(addedSized),
        target: '< 5 ms added to the echo',
        met: addedSized < 5,
      },
      {
        figure: `${who}: worst one-second p99 at ${o.rate.toLocaleString('en-US')} focus/s`,
        value: r2(worst(ours)),
        unit: 'ms',
        baseline: { what: 'durable echo', value: r2(worst(durable)) },
        target: '≤ 100 ms',
        met: worst(ours) <= 100,
      },
    );
  }
  return rows;
}

/** The highest of a run's one-second p99s at the fixed rate. */
function worst(run: Run): number {
  return Math.max(0, ...run.steady.p99PerSecond);
}
