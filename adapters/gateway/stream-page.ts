/**
 * A page of a stream replay: up to `limit` events from a position on (optionally up to one, recorded since a time, of
 * one type), each with its data and metadata as JSON text, sent as they are. Read through the port, or by the log's
 * own (PostgreSQL hands over the text it holds: the same JSON, its keys perhaps in another order).
 */
import type { EventLog, LoggedEvent, StreamPageOptions, StreamPageRow } from '../../actors/kernel/event-log.ts';

export function streamPage(log: EventLog, position: number, o: StreamPageOptions): Promise<StreamPageRow[]> {
  return log.queries?.streamPage?.(position, o) ?? streamPageOverPort(log, position, o);
}

export async function streamPageOverPort(log: EventLog, position: number, o: StreamPageOptions): Promise<StreamPageRow[]> {
  const rows = await log.read({
    fromPosition: Math.max(1, position),
    toPosition: o.toPosition,
    fromTime: o.fromTime,
    types: o.type === undefined ? undefined : [o.type],
    limit: o.limit,
  });
  return rows.map((e) => ({
    position: e.position,
    type: e.type,
    streamId: e.streamId,
    version: e.version,
    messageId: e.messageId ?? null,
    dataJson: JSON.stringify(e.data) ?? 'null',
    metadataJson: JSON.stringify(e.metadata ?? {}),
    routingKey: typeof e.metadata.routing_key === 'string' ? e.metadata.routing_key : null,
    customer: e.streamId.startsWith('customer-') ? e.streamId.slice(9) : customerIdOf(e),
    recordedAt: e.recordedAt,
  }));
}

/** `data.customer_id` as text, as PostgreSQL's `data->>'customer_id'` gives it (null when absent or null). */
function customerIdOf(e: LoggedEvent): string | null {
  const id = (e.data as { customer_id?: unknown } | null)?.customer_id;
  if (id === undefined || id === null) return null;
  return typeof id === 'object' ? JSON.stringify(id) : String(id);
}
