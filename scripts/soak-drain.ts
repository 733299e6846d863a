/**
 * The drain after publishing: wait until every published input is logged, every logged focus decided
 * and every logged prediction seen on the wire, or nothing moves for 30 s; at most 180 s.
 */
import type { ConnectionPool } from '@databases/pg';
import { sleep } from './soak-processes.ts';
import { logTotals } from './soak-eventlog.ts';
import { n, s1, say } from './soak-format.ts';
import type { Ledger } from './soak-ledger.ts';
import type { Wire } from './soak-wire.ts';

export async function drain(o: { db: ConnectionPool; ledger: Ledger; wire: Wire; now: () => number; note: (line: string) => void }): Promise<void> {
  const { db, ledger, wire, now, note } = o;
  const drainStart = now();
  let lastHead = -1,
    lastMove = now(),
    lastWire = wire.received,
    lastWireMove = now();
  const focusesPublished = ledger.ackedCount[1];
  for (;;) {
    const c = await logTotals(db, lastHead);
    if (c.head !== lastHead) {
      lastHead = c.head;
      lastMove = now();
    }
    if (wire.received !== lastWire) {
      lastWire = wire.received;
      lastWireMove = now();
    }
    note(`drain: ${c.inputs} inputs, ${c.decisions} decisions, ${c.predictions} predictions logged; ${wire.focuses} focuses answered on the wire`);
    const caughtUp = c.inputs >= ledger.ackedTotal && c.decisions >= focusesPublished && wire.focuses >= c.predictions;
    if (caughtUp && now() - lastMove > 1000 && now() - lastWireMove > 1000) break;
    if (now() - lastMove > 30_000 && now() - lastWireMove > 30_000) {
      say(
        `+${s1(now())}: nothing moved for 30 s: ${n(c.inputs)} inputs, ${n(c.decisions)} decisions logged; ${n(wire.focuses)} of ${n(c.predictions)} logged predictions seen on the wire`,
      );
      break;
    }
    if (now() - drainStart > 180_000) {
      say(`+${s1(now())}: drain bounded at 180 s`);
      break;
    }
    await sleep(500);
  }
}
