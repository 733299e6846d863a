/** The soak's report: the verdict line by line, PASS or FAIL with the reasons, and (--json) one JSON line; returns the exit code. */
import { readFileSync } from 'node:fs';
import { FAULT_KINDS, type FaultKind, type SoakOptions } from './soak-args.ts';
import type { Fault, Verdict } from './soak-verdict.ts';
import type { Readiness } from './soak-progress.ts';
import { n, s1, say } from './soak-format.ts';

export interface RunFacts {
  faults: Fault[];
  counts: Record<FaultKind, number>;
  publishMs: number;
  /** Per answered focus: ms from its publication to its prediction on the wire; and the predictions' bytes. */
  latencies: number[];
  wireBytes: number;
  unexpectedExits: { at: number; how: string }[];
  /** Messages the broker still held when the drain ended, -1 if unknown. */
  brokerHeld: number;
  readiness: Readiness;
  /** storeflow's log file. */
  logFile: string;
}

function logSummary(logFile: string): string {
  try {
    const text = readFileSync(logFile, 'utf8');
    const count = (level: number) => (text.match(new RegExp(`"level":${level}\\b`, 'g')) ?? []).length;
    return `${n(count(40))} warnings, ${n(count(50))} errors, ${n(count(60))} fatal`;
  } catch {
    return 'no output';
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

export function report(v: Verdict, r: RunFacts, opt: SoakOptions): number {
  const { faults, counts, unexpectedExits, brokerHeld, readiness } = r;
  const lat = Float64Array.from(r.latencies).sort() as unknown as number[];
  const failures: string[] = [];
  if (v.lost) failures.push(`${n(v.lost)} lost`);
  if (v.decidedTwice) failures.push(`${n(v.decidedTwice)} decided twice`);
  if (v.couponsTwice) failures.push(`${n(v.couponsTwice)} coupons twice in a visit`);
  if (v.reordered) failures.push(`${n(v.reordered)} reordered`);
  if (v.undecided) failures.push(`${n(v.undecided)} logged focuses never decided`);
  const worst = v.longestStallAfterFault;
  if (worst && worst.ms > 10_000) failures.push(`a stall of ${s1(worst.ms)} after a fault (${worst.fault})`);
  const noPred = Object.entries(v.noPrediction)
    .map(([r, c]) => `${r} ${n(c)}`)
    .join(', ');
  const kinds = (r: Record<string, number>) => `entries ${n(r.entry)}, focuses ${n(r.focus)}, exits ${n(r.exit)}`;
  say('');
  say(
    `faults             ${faults.length ? FAULT_KINDS.map((k) => `${k} ×${counts[k]}`).join(', ') : 'none'}; storeflow exited by itself ${unexpectedExits.length}×${unexpectedExits.length ? ` (${unexpectedExits.map((e) => `${e.how} at +${s1(e.at)}`).join(', ')})` : ''}`,
  );
  say(
    `inputs published   ${n(v.published)} in ${s1(r.publishMs)} (${kinds(v.publishedByKind)})${v.unconfirmed ? `; ${n(v.unconfirmed)} never acknowledged by the broker (${n(v.unconfirmedLogged)} of them logged)` : ''}`,
  );
  say(
    `inputs logged      ${n(v.logged)}${v.loggedTwice ? `, ${n(v.loggedTwice)} of them twice` : ''}${v.unexpected ? `; ${n(v.unexpected)} rows matching nothing published` : ''}${v.mismatched ? `; ${n(v.mismatched)} with the wrong kind or department` : ''}`,
  );
  say(
    `decided            ${n(v.decided)} of ${n(v.focusesLogged)} logged focuses (${n(v.predictions)} predictions${noPred ? `, no prediction: ${noPred}` : ''})${v.undecided ? `; ${n(v.undecided)} never decided` : ''}`,
  );
  for (const e of v.undecidedExamples) say(`                     e.g. ${e}`);
  say(
    `on the wire        ${n(v.wirePredictions)} focuses answered (${n(Math.round(r.wireBytes / 1e6))} MB; ${n(v.wireCopies)} repeated copies${v.wireUnknown ? `, ${n(v.wireUnknown)} unreadable or unmatched` : ''}); ${n(v.loggedNotOnWire)} logged predictions never seen on the wire`,
  );
  for (const e of v.notOnWireExamples) say(`                     e.g. ${e}`);
  say(
    `latency            focus published → prediction on the wire: p50 ${Math.round(percentile(lat, 0.5))} ms, p99 ${Math.round(percentile(lat, 0.99))} ms, max ${s1(lat.length ? lat[lat.length - 1] : 0)}`,
  );
  say(
    `lost               ${n(v.lost)}${v.lost ? ` (${kinds(v.lostByKind)}; not logged when the run ended${brokerHeld > 0 ? `, while the broker still held ${n(brokerHeld)} messages` : ''})` : ''}`,
  );
  for (const e of v.lostExamples) say(`                     e.g. ${e}`);
  say(`decided twice      ${n(v.decidedTwice)} (log ${n(v.decidedTwiceLog)}, wire ${n(v.decidedTwiceWire)})`);
  say(`coupons twice      ${n(v.couponsTwice)} in a visit (log ${n(v.couponsTwiceLog)}, wire ${n(v.couponsTwiceWire)})`);
  say(`reordered          ${n(v.reordered)}${v.reordered ? ` (${n(v.reorderedCustomers)} customers)` : ''}`);
  for (const e of v.reorderedExamples) say(`                     e.g. ${e}`);
  say(
    `longest stall      ${s1(v.longestStall.ms)} while publishing (from +${s1(v.longestStall.from)}${v.longestStall.fault ? `, during ${v.longestStall.fault}` : ''})`,
  );
  if (worst) say(`  after a fault    ${s1(worst.ms)} (${worst.fault}); per fault: ${v.stallsAfterFaults.map((x) => s1(x.ms)).join(', ')}`);
  const spells = (state: string) => readiness.filter((r) => r.state === state).length;
  const shown =
    readiness
      .slice(0, 12)
      .map((r) => `+${s1(r.at)} ${r.state}`)
      .join(', ') + (readiness.length > 12 ? `, … (${readiness.length - 12} more)` : '');
  say(`readyz             ${spells('not ready')} spells not ready (503), ${spells('no answer')} without an answer within 2 s: ${shown || 'never polled'}`);
  say(`storeflow log      ${logSummary(r.logFile)}`);
  say(failures.length ? `FAIL: ${failures.join('; ')}` : 'PASS');
  if (opt.json) {
    console.log(
      JSON.stringify({
        pass: failures.length === 0,
        minutes: opt.minutes,
        rate: opt.rate,
        format: opt.format,
        faults: counts,
        storeflowExitedByItself: unexpectedExits.length,
        published: v.published,
        logged: v.logged,
        decided: v.decided,
        focusesLogged: v.focusesLogged,
        undecided: v.undecided,
        lost: v.lost,
        decidedTwice: v.decidedTwice,
        couponsTwice: v.couponsTwice,
        reordered: v.reordered,
        wirePredictions: v.wirePredictions,
        loggedNotOnWire: v.loggedNotOnWire,
        unconfirmed: v.unconfirmed,
        brokerHeldAtEnd: brokerHeld,
        longestStallMs: Math.round(v.longestStall.ms),
        longestStallAfterFaultMs: worst ? Math.round(worst.ms) : null,
        latencyP50Ms: Math.round(percentile(lat, 0.5)),
        latencyP99Ms: Math.round(percentile(lat, 0.99)),
        latencyMaxMs: Math.round(lat.length ? lat[lat.length - 1] : 0),
        failures,
      }),
    );
  }
  return failures.length ? 1 : 0;
}
