/** Event-stream records (seed 004's streams): in PostgreSQL, one parameterised statement per function; or in memory (on the in-memory event log). */
import { randomUUID } from 'node:crypto';
import { sql, type ConnectionPool } from '@databases/pg';

export interface StreamRecord {
  id: string;
  routing_key: string;
  created_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const row = (r: { id: string; routing_key: string; created_at: string | Date }): StreamRecord => ({
  id: r.id,
  routing_key: r.routing_key,
  created_at: new Date(r.created_at).toISOString(),
});

/** What the gateway keeps of its streams: created, listed, looked up, deleted. */
export interface StreamRecordStore {
  create(routingKey: string): Promise<StreamRecord>;
  list(): Promise<StreamRecord[]>;
  get(id: string): Promise<StreamRecord | undefined>;
  delete(id: string): Promise<boolean>;
}

export class StreamRecords implements StreamRecordStore {
  constructor(private db: ConnectionPool) {}
  async create(routingKey: string): Promise<StreamRecord> {
    const [r] = await this.db.query(
      sql`INSERT INTO event_streams (id, routing_key) VALUES (${randomUUID()}, ${routingKey}) RETURNING id, routing_key, created_at`,
    );
    return row(r);
  }
  async list(): Promise<StreamRecord[]> {
    return (await this.db.query(sql`SELECT id, routing_key, created_at FROM event_streams ORDER BY created_at, id`)).map(row);
  }
  async get(id: string): Promise<StreamRecord | undefined> {
    if (!UUID.test(id)) return undefined;
    const [r] = await this.db.query(sql`SELECT id, routing_key, created_at FROM event_streams WHERE id = ${id.toLowerCase()}`);
    return r ? row(r) : undefined;
  }
  async delete(id: string): Promise<boolean> {
    if (!UUID.test(id)) return false;
    return (await this.db.query(sql`DELETE FROM event_streams WHERE id = ${id.toLowerCase()} RETURNING id`)).length > 0;
  }
}

/** The streams in memory, as PostgreSQL keeps them: listed by creation, ids matched without case. */
export class MemoryStreamRecords implements StreamRecordStore {
  private records = new Map<string, StreamRecord>();
  async create(routingKey: string): Promise<StreamRecord> {
    const r = { id: randomUUID(), routing_key: routingKey, created_at: new Date().toISOString() };
    this.records.set(r.id, r);
    return { ...r };
  }
  async list(): Promise<StreamRecord[]> {
    return [...this.records.values()].map((r) => ({ ...r })).sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }
  async get(id: string): Promise<StreamRecord | undefined> {
    const r = UUID.test(id) ? this.records.get(id.toLowerCase()) : undefined;
    return r && { ...r };
  }
  async delete(id: string): Promise<boolean> {
    return UUID.test(id) && this.records.delete(id.toLowerCase());
  }
}
