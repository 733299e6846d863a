/**
 * The one list of input types: what the engine hands to processors. Every mode (live, recovery, replay, a partial
 * export's plan) reads a log's records through these; a processor's `consumes` names its share of them from here.
 * test/architecture.test.ts checks that no other module lists input types.
 */
import type { EventKind } from '../../schemas/events.ts';
import { fromFlat } from '../../schemas/events.ts';
import type { Input } from '../process/processor-contract.ts';

/** Every store event that is an input to some processor. */
export const INPUT_KINDS = ['entry', 'exit', 'focus', 'move', 'browsing'] as const satisfies readonly EventKind[];
/** A customer's session (the recommender): an entry, a focus, an exit. */
export const SESSION_INPUTS = ['entry', 'focus', 'exit'] as const satisfies readonly EventKind[];
/** A shopper's walk (the detector): an entry, a move, an exit. */
export const WALK_INPUTS = ['entry', 'move', 'exit'] as const satisfies readonly EventKind[];

const INPUTS: ReadonlySet<string> = new Set(INPUT_KINDS);
const SESSION: ReadonlySet<string> = new Set(SESSION_INPUTS);

/** Whether a logged record's type is an input type. */
export function isInputType(type: string): boolean {
  return INPUTS.has(type);
}

/** Whether a logged record's type is one a customer's session consumes. */
export function isSessionInputType(type: string): boolean {
  return SESSION.has(type);
}

/** A record as the log holds it, whichever log (LoggedEvent, or ExportedEvent's own spelling). */
interface LogRecord {
  type: string;
  data: unknown;
  metadata?: Record<string, unknown> | null;
}

/** Whether a record came in (from a transport, HTTP or a replay), not out of a processor. */
export function cameIn(e: LogRecord): boolean {
  return e.metadata?.source !== 'output';
}

/**
 * A logged record as an input: an input type that came in, or (`localFocus`) a focus a detector of the same process
 * logged as its output and handed on locally. Undefined for anything else, or for data that is no store event.
 */
export function inputOf(e: LogRecord, logged: Input['logged'], o: { localFocus?: boolean; kinds?: readonly string[] } = {}): Input | undefined {
  if (!(o.kinds ? o.kinds.includes(e.type) : INPUTS.has(e.type))) return undefined;
  if (!cameIn(e) && !(e.type === 'focus' && o.localFocus)) return undefined;
  const event = fromFlat(e.type, e.data);
  return event ? { logged, event } : undefined;
}
