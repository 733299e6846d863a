/**
 * Snapshots in memory: the snapshot port (actors/kernel/snapshot-store.ts) beside the in-memory event log, answering as
 * PostgreSQL does (test/snapshot-contract.ts). Kept as the JSON a database holds: a reader gets its own copy.
 */
import { newestOfEach, type SnapshotStore, type StateSnapshot } from './snapshot-store.ts';

export class InMemorySnapshots implements SnapshotStore {
  private kept = new Map<string, StateSnapshot>();

  async save(snapshots: StateSnapshot[]): Promise<void> {
    for (const s of newestOfEach(snapshots)) {
      const key = `${s.streamId}\u0000${s.machine}\u0000${s.machineVersion}`;
      const k = this.kept.get(key);
      if (!k || k.version < s.version) this.kept.set(key, JSON.parse(JSON.stringify(s)));
    }
  }

  async read(machine: string, streamIds: string[]): Promise<StateSnapshot[]> {
    const wanted = new Set(streamIds);
    return [...this.kept.values()].filter((s) => s.machine === machine && wanted.has(s.streamId)).map((s) => JSON.parse(JSON.stringify(s)));
  }
}
