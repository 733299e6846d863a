/** A customer's visit in the log, as a session lived it: what a session rebuilt from the stream replays. */
import type { LoggedEvent } from '../kernel/event-log.ts';

/**
 * The inputs of a customer's visit as the session lived it: from the last entry, after the last exit, and after
 * the last silence long enough for the session to have ended idle.
 */
export function visitOf(inputs: LoggedEvent[], idleTimeoutS: number): LoggedEvent[] {
  let start = 0;
  let lastTs: number | undefined;
  for (let i = 0; i < inputs.length; i++) {
    const ts = Number((inputs[i].data as { ts?: number }).ts);
    if (lastTs !== undefined && ts - lastTs >= idleTimeoutS) start = i;
    if (inputs[i].type === 'entry') start = i;
    if (inputs[i].type === 'exit') start = i + 1;
    lastTs = lastTs === undefined ? ts : Math.max(lastTs, ts);
  }
  return inputs.slice(start);
}
