/**
 * The snapshot port: the state of a customer's actor (a session, a detector's walk) as of a version of its stream, so a
 * restart or a rebuild reads only what follows (docs/snapshots.md). Kept beside the event log, in the same database:
 * actors/kernel/in-memory-snapshots.ts and adapters/edges/postgres-snapshots.ts implement it, held to one contract
 * (test/snapshot-contract.ts). A snapshot is a cache of its stream: one lost or ignored costs a longer read, never a
 * decision.
 */

export interface StateSnapshot {
  streamId: string;
  /** The machine whose state this is: its name in machines/json/ (`session`, `focus-detector`). */
  machine: string;
  /** machines/json/<machine>.json's hash and the machine's code version (adapters/engine/machine-version.ts). */
  machineVersion: string;
  /** The stream's version the state is as of: every input up to it applied, nothing after. */
  version: number;
  /** JSON: what the role restores from (an XState persisted snapshot, a walk). */
  state: unknown;
}

export interface SnapshotStore {
  /**
   * Keeps each snapshot as the newest of its stream, machine and machine version, unless one as new or newer is kept
   * (a slower writer never moves a stream's snapshot back).
   */
  save(snapshots: StateSnapshot[]): Promise<void>;
  /** The snapshots kept for these streams and this machine, of every machine version (one each), in no order. */
  read(machine: string, streamIds: string[]): Promise<StateSnapshot[]>;
}

/** The newest of each stream, machine and machine version among `snapshots` (a batch written at once must name each once). */
export function newestOfEach(snapshots: StateSnapshot[]): StateSnapshot[] {
  const kept = new Map<string, StateSnapshot>();
  for (const s of snapshots) {
    const key = `${s.streamId}\u0000${s.machine}\u0000${s.machineVersion}`;
    const k = kept.get(key);
    if (!k || k.version <= s.version) kept.set(key, s);
  }
  return [...kept.values()];
}
