/**
 * The soak's faults: per kind max(1, ceil(minutes/3)), interleaved and spread evenly over 85 % of the
 * run, at least 3 s after the last one was back. storeflow: SIGKILL and restart; broker: SIGTERM /
 * SIGKILL (alternating), down 2 s, restart; database: fast / immediate shutdown (alternating), down 5 s,
 * restart.
 */
import type { Mosquitto, Postgres } from './soak-services.ts';
import { sleep } from './soak-processes.ts';
import type { FaultKind } from './soak-args.ts';
import type { Fault } from './soak-verdict.ts';
import { s1, say } from './soak-format.ts';

export interface Injection {
  /** The faults done so far, and how many of each kind. */
  faults: Fault[];
  counts: Record<FaultKind, number>;
  /** Resolves after the last fault (or once the soak is closing). */
  done: Promise<void>;
}

export function injectFaults(o: {
  kinds: FaultKind[];
  minutes: number;
  publishStart: number;
  storeflow: { kill(): Promise<void> };
  broker: Mosquitto;
  database: Postgres;
  now: () => number;
  closing: () => boolean;
  note: (line: string) => void;
}): Injection {
  const { now } = o;
  const perKind = Math.max(1, Math.ceil(o.minutes / 3));
  const schedule: FaultKind[] = [];
  for (let r = 0; r < perKind; r++) schedule.push(...o.kinds);
  const runMs = o.minutes * 60_000;
  const faults: Fault[] = [];
  const counts: Record<FaultKind, number> = { storeflow: 0, broker: 0, database: 0 };

  const done = (async () => {
    let free = o.publishStart;
    for (let j = 0; j < schedule.length; j++) {
      const at = Math.max(o.publishStart + (runMs * 0.85 * (j + 0.5)) / schedule.length, free + 3000);
      while (now() < at) await sleep(Math.min(250, at - now()));
      if (o.closing()) return;
      const kind = schedule[j];
      const k = counts[kind]++;
      const start = now();
      let how: string;
      if (kind === 'storeflow') {
        how = 'SIGKILL';
        await o.storeflow.kill();
      } else if (kind === 'broker') {
        const sig = k % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
        how = sig;
        await o.broker.stop(sig);
        await sleep(Math.max(0, start + 2000 - now()));
        if (o.closing()) return;
        await o.broker.start();
      } else {
        const sig = k % 2 === 0 ? 'SIGINT' : 'SIGQUIT';
        how = sig === 'SIGINT' ? 'fast shutdown (SIGINT)' : 'immediate shutdown (SIGQUIT)';
        await o.database.stop(sig);
        await sleep(Math.max(0, start + 5000 - now()));
        if (o.closing()) return;
        await o.database.start();
      }
      const back = now();
      faults.push({ kind, how, start, back });
      o.note(`fault ${kind} ${how} from +${s1(start)} to +${s1(back)}`);
      say(`+${s1(start)}: fault ${faults.length}/${schedule.length}: ${kind} ${how}; back at +${s1(back)}`);
      free = back;
    }
  })();
  return { faults, counts, done };
}
