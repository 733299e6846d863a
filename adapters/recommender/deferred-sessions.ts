/**
 * Which recovered sessions can be made later, on first need (docs/snapshots.md): a visit restored from a snapshot whose
 * logged inputs after it are focuses, each decided in the log already, with no silence as long as the idle timeout
 * between them. Made later, such a session is what recovery would make at once: the snapshot, then those focuses with
 * their logged decisions given back; nothing it does is output. Any other visit (a focus still to decide, an entry or
 * exit after the snapshot, a silence that may have ended the session) is made at once, in log order, as before.
 */
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import { loggedInputId, type Input } from '../process/processor-contract.ts';
import type { OpenVisit } from './open-visits.ts';
import type { SessionContext } from '../../machines/session.ts';

/** The event time a deferrable visit was last active at; undefined: the visit is made at once. */
export function deferrableUntil(visit: OpenVisit, inputs: readonly Input[], idleTimeoutS: number): number | undefined {
  if (!visit.snapshot) return undefined;
  const decided = new Set<unknown>(visit.events.map((e: LoggedEvent) => e.metadata.cause));
  let last = (visit.snapshot.state as { context?: Partial<SessionContext> }).context?.lastTs;
  if (typeof last !== 'number') return undefined;
  for (const { event, logged } of inputs) {
    if (event.kind !== 'focus' || !decided.has(loggedInputId(logged)) || event.ts - last >= idleTimeoutS) return undefined;
    last = Math.max(last, event.ts);
  }
  return last;
}
