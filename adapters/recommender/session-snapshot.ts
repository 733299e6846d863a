/**
 * A session as a snapshot keeps it (docs/snapshots.md): the machine version its snapshots name, when a session is at
 * rest to be taken, how one is made again with the settings in force, and whether a snapshot's session goes on through
 * the inputs a rebuild reads after it.
 */
import type { Actor, SnapshotFrom } from 'xstate';
import { SESSION_CODE_VERSION, type SessionContext, type sessionMachine } from '../../machines/session.ts';
import type { LoggedEvent } from '../../actors/kernel/event-log.ts';
import type { StateSnapshot } from '../../actors/kernel/snapshot-store.ts';
import { visitOf } from '../../actors/recommender/visit.ts';
import { machineVersion } from '../engine/machine-version.ts';

/** The session machine's version, as its snapshots name it. */
export const SESSION_MACHINE = machineVersion('session', SESSION_CODE_VERSION);

/** The session's persisted state when it is at rest (ready, no focus waiting), else undefined: nothing half done is kept. */
export function restingState(actor: Actor<typeof sessionMachine> | undefined): unknown {
  const snap = actor?.getSnapshot();
  if (!actor || !snap || snap.status !== 'active' || snap.value !== 'ready' || snap.context.pending.length > 0) return undefined;
  return actor.getPersistedSnapshot();
}

/** A snapshot's session with the settings in force in place of those it was taken with, and its last event time. */
export function sessionOf(
  s: StateSnapshot,
  settings: Pick<SessionContext, 'idleTimeoutS' | 'scorerAtOnce'>,
): { snapshot: SnapshotFrom<typeof sessionMachine>; lastTs: number } {
  const state = s.state as { context: SessionContext };
  return { snapshot: { ...state, context: { ...state.context, ...settings } } as unknown as SnapshotFrom<typeof sessionMachine>, lastTs: state.context.lastTs };
}

/**
 * Of a stream's inputs after a snapshot, those before version `v` (the input rebuilt): the visit a rebuild replays
 * (visitOf), and whether the snapshot's session goes on through them: no entry, exit or silence as long as the idle
 * timeout began another visit since.
 */
export function visitAfter(s: StateSnapshot | undefined, after: LoggedEvent[], v: number, idleTimeoutS: number): { visit: LoggedEvent[]; goesOn: boolean } {
  const inputs = after.filter((e) => e.version < v);
  const visit = visitOf(inputs, idleTimeoutS);
  if (!s) return { visit, goesOn: false };
  const lastTs = (s.state as { context?: SessionContext }).context?.lastTs ?? 0;
  const first = Number((inputs[0]?.data as { ts?: number } | undefined)?.ts);
  return { visit, goesOn: visit.length === inputs.length && inputs[0]?.type !== 'entry' && !(first - lastTs >= idleTimeoutS) };
}
