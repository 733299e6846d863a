/** What the log has archived (sql/009): the cut positions and their files, and a stream's archived versions. */
import { sql, type Queryable } from '@databases/pg';
import type { ArchivedMark, ArchivedStream } from '../../actors/kernel/archived.ts';
import type { ExportedEvent } from '../../actors/kernel/event-log.ts';

/** Undefined when nothing was ever archived. */
export async function archivedMark(db: Queryable): Promise<ArchivedMark | undefined> {
  const rows = await db.query(
    sql`SELECT before_position, file, (extract(epoch FROM closed_before) * 1000)::float8 AS before_ms FROM event_archives ORDER BY id`,
  );
  if (rows.length === 0) return undefined;
  const files = rows.map((r) => ({ before: Number(r.before_position), file: r.file as string }));
  return { before: Math.max(...files.map((f) => f.before)), files, beforeMs: Number(rows[rows.length - 1].before_ms) };
}

export async function archivedStream(db: Queryable, streamId: string): Promise<ArchivedStream | undefined> {
  const [r] = await db.query(sql`
    SELECT s.version, a.file FROM archived_streams s JOIN event_archives a ON a.id = s.archive WHERE s.stream_id = ${streamId}`);
  return r ? { version: r.version, file: r.file } : undefined;
}

/** The records in force where the table now begins (settings, model, catalogue), as the last archive kept them. */
export async function archivedInForce(db: Queryable): Promise<ExportedEvent[]> {
  const [r] = await db.query(sql`SELECT in_force FROM event_archives ORDER BY id DESC LIMIT 1`);
  return (r?.in_force ?? []) as ExportedEvent[];
}
