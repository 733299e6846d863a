/**
 * Which recovered sessions can be made later, on first need (docs/snapshots.md): a visit restored from a snapshot whose
 * logged inputs after it are focuses, each decided in the log already, and whose last activity the log's heads tell.
 * Made later, such a session is what recovery would make at once: the snapshot, then those focuses with their logged
 * decisions given back; nothing it does is output. Any other visit (a focus still to decide, an entry or exit after the
 * snapshot) is made at once, its inputs run again in log order, as before.
 */
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import { loggedInputId, type Input } from '../process/processor-contract.ts';
import type { OpenVisit } from './open-visits.ts';

/** The event time a deferrable visit was last active at; undefined: the visit is made at once. */
export function deferrableUntil(visit: OpenVisit, inputs: readonly Input[]): number | undefined {
  if (!visit.snapshot || visit.ts === undefined) return undefined;
  const decided = new Set<unknown>(visit.events.map((e: LoggedEvent) => e.metadata.cause));
  for (const { event, logged } of inputs) if (event.kind !== 'focus' || !decided.has(loggedInputId(logged))) return undefined;
  return visit.ts;
}
