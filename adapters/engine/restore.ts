/**
 * Where a customer's actor starts from after a restart or in a rebuild: the newest snapshot of its visit taken by the
 * machine version in force, and the stream's events after it (docs/snapshots.md). Recovery (many streams at once:
 * adapters/recommender/open-visits.ts) and a rebuild (one stream: restoreFrom) both decide it here.
 */
import type { EventLog, LoggedEvent, VisitRead } from '../../actors/kernel/event-log.ts';
import type { SnapshotStore, StateSnapshot } from '../../actors/kernel/snapshot-store.ts';
import type { MachineVersion } from './machine-version.ts';

export interface RestorePoint {
  /** The snapshot to start from (none: a fresh actor). */
  snapshot?: StateSnapshot;
  /** The stream's version whose events follow: the snapshot's, else the visit's start. */
  after: number;
  /** A snapshot of the visit taken by another machine version, passed over (the actor is made from its events). */
  ignored?: VisitRead['ignored'];
}

/**
 * Among a stream's snapshots of one machine, the newest of this machine version within the visit (taken after
 * `visitAfter`, its last exit, and before version `before`, when a rebuild wants the state before an input).
 */
export function restorePoint(
  snapshots: readonly StateSnapshot[],
  machine: MachineVersion,
  visitAfter: number,
  before = Number.POSITIVE_INFINITY,
): RestorePoint {
  let valid: StateSnapshot | undefined;
  let other: StateSnapshot | undefined;
  for (const s of snapshots) {
    if (s.machine !== machine.machine || s.version <= visitAfter || s.version >= before) continue;
    if (s.machineVersion === machine.version) {
      if (!valid || s.version > valid.version) valid = s;
    } else if (!other || s.version > other.version) other = s;
  }
  if (valid) return { snapshot: valid, after: valid.version };
  return other ? { after: visitAfter, ignored: { machineVersion: other.machineVersion, version: other.version } } : { after: visitAfter };
}

/** One stream's restore point and the events after it (a rebuild); without a snapshot store, the events after `after`. */
export async function restoreFrom(
  log: Pick<EventLog, 'readStream'>,
  snapshots: SnapshotStore | undefined,
  streamId: string,
  machine: MachineVersion,
  o: { after?: number; before?: number } = {},
): Promise<RestorePoint & { events: LoggedEvent[] }> {
  const kept = snapshots ? await snapshots.read(machine.machine, [streamId]) : [];
  const point = restorePoint(kept, machine, o.after ?? 0, o.before);
  return { ...point, events: await log.readStream(streamId, point.after) };
}
