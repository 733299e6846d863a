/**
 * What the soak says while it runs: storeflow's /readyz polled every second (its changes noted), and
 * every second a line in soak.log (published, awaiting ack, held, on the wire, the soak's event-loop lag,
 * CPU per process), every ~10 s a line on stdout.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Mosquitto, Postgres, Storeflow } from './soak-services.ts';
import type { Ledger } from './soak-ledger.ts';
import type { Load } from './soak-load.ts';
import type { Wire } from './soak-wire.ts';
import { cpuMeter } from './soak-cpu.ts';
import { n, s1, say } from './soak-format.ts';

export type Readiness = { at: number; state: string }[];

/** Polls /readyz every second into `readiness` until the interval is cleared. */
export function pollReadiness(storeflow: Storeflow, readiness: Readiness, now: () => number, note: (line: string) => void): NodeJS.Timeout {
  return setInterval(() => {
    void storeflow.readiness().then((state) => {
      if (readiness.at(-1)?.state !== state) {
        readiness.push({ at: now(), state });
        note(`readyz ${state}`);
      }
    });
  }, 1000);
}

/** The progress lines, from `publishStart` until the interval is cleared. */
export function reportProgress(o: {
  ledger: Ledger;
  load: Load;
  wire: Wire;
  storeflow: Storeflow;
  broker: Mosquitto;
  database: Postgres;
  readiness: Readiness;
  publishStart: number;
  now: () => number;
  note: (line: string) => void;
}): NodeJS.Timeout {
  const { ledger, load, wire, now } = o;
  let lastReport = o.publishStart;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpuShare = cpuMeter();
  return setInterval(() => {
    const t = now();
    o.note(
      `published ${ledger.ackedTotal}, awaiting ack ${ledger.n - ledger.ackedTotal - load.waiting}, held while the broker is away ${load.waiting}, predictions on the wire ${wire.received}; ` +
        `soak event-loop lag max ${Math.round(lag.max / 1e6)} ms; CPU storeflow ${cpuShare(o.storeflow.proc?.pid)} mosquitto ${cpuShare(o.broker.proc?.pid)} postgres ${cpuShare(o.database.proc?.pid, true)} soak ${cpuShare(process.pid)}`,
    );
    lag.reset();
    if (t - lastReport < 9_500) return;
    lastReport = t;
    say(
      `+${s1(t)}: published ${n(ledger.ackedTotal)} (${n(ledger.n - ledger.ackedTotal)} awaiting the broker's ack), predictions on the wire ${n(wire.received)}, readyz ${o.readiness.at(-1)?.state ?? '?'}`,
    );
  }, 1000);
}
