/**
 * Snapshots on PostgreSQL (the `snapshots` table, sql/007_snapshots.sql): the snapshot port
 * (actors/kernel/snapshot-store.ts) in one statement each. A batch is one INSERT … ON CONFLICT that moves a row only
 * forward, so racing writers (replicas, a slow flush) never move a stream's snapshot back.
 */
import { sql, type ConnectionPool } from '@databases/pg';
import { newestOfEach, type SnapshotStore, type StateSnapshot } from '../../actors/kernel/snapshot-store.ts';

export class PostgresSnapshots implements SnapshotStore {
  constructor(private db: ConnectionPool) {}

  async save(snapshots: StateSnapshot[]): Promise<void> {
    const rows = newestOfEach(snapshots);
    if (rows.length === 0) return;
    const json = JSON.stringify(
      rows.map((s) => ({ stream_id: s.streamId, machine: s.machine, machine_version: s.machineVersion, version: s.version, state: s.state ?? null })),
    );
    await this.db.query(sql`
      INSERT INTO snapshots AS s (stream_id, machine, machine_version, version, state)
      SELECT r.stream_id, r.machine, r.machine_version, r.version, r.state
      FROM json_to_recordset(${json}::json) AS r(stream_id text, machine text, machine_version text, version int, state jsonb)
      ORDER BY r.stream_id
      ON CONFLICT (stream_id, machine, machine_version) DO UPDATE
        SET version = excluded.version, state = excluded.state, taken_at = clock_timestamp()
        WHERE s.version < excluded.version`);
  }

  async read(machine: string, streamIds: string[]): Promise<StateSnapshot[]> {
    if (streamIds.length === 0) return [];
    // the state as text, parsed here: faster than the driver's reading of jsonb for thousands of them (a start)
    const rows = await this.db.query(sql`
      SELECT stream_id, machine, machine_version, version, state::text AS state FROM snapshots
      WHERE machine = ${machine} AND stream_id = ANY(${streamIds}::text[])`);
    return rows.map((r) => ({ streamId: r.stream_id, machine: r.machine, machineVersion: r.machine_version, version: r.version, state: JSON.parse(r.state) }));
  }
}
