/**
 * Kafka's names and topics for storeflow: legal topic names, the customer key a publication is partitioned by, and
 * topics created when missing (with a leader for every partition before anything is sent to them).
 */
import type { Admin } from '@platformatic/kafka';

/** A legal Kafka topic name for `topic`: '/' → '.', any other character outside [a-zA-Z0-9._-] → '_'. */
export function kafkaTopic(topic: string): string {
  return topic
    .replace(/\//g, '.')
    .replace(/[^a-zA-Z0-9._-]/g, '_')
    .slice(0, 249);
}

const CUSTOMER_ID = /"customer_id"\s*:\s*"?([^",}\s]+)/;
const FIRST_ID = /"id"\s*:\s*"?([^",}\s]+)/;

/**
 * The message key: the customer id of an event or a prediction, read from the payload's start — seed
 * 003's `payload.customer_id`, else the first `id` (flat events' `id`, a flat prediction's `customer.id`,
 * which comes before its coupon's). Numbers and strings give the same key ("1" for 1 and "1").
 * Undefined (no key: the partitioner spreads them) for anything else, such as a pump command.
 */
export function customerKey(payload: string | Buffer): string | undefined {
  const head = (typeof payload === 'string' ? payload.slice(0, 512) : payload.subarray(0, 512).toString('utf8')).trimStart();
  if (!head.startsWith('{')) return undefined;
  return (CUSTOMER_ID.exec(head) ?? FIRST_ID.exec(head))?.[1];
}

/**
 * Creates those of `topics` that are missing, with `partitions` partitions and the cluster's default replication
 * factor (3 on `npm run kafka -- --brokers 3`), and resolves once each partition of each has a leader. A topic created
 * meanwhile by another client is fine: what counts is that all exist afterwards.
 */
export async function createTopics(admin: Admin, topics: string[], partitions: number, timeoutMs = 15_000): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length) {
    try {
      await admin.createTopics({ topics: missing, partitions, replicas: -1 });
    } catch (err) {
      const now = new Set(await admin.listTopics());
      if (!missing.every((t) => now.has(t))) throw err;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const meta = await admin.metadata({ topics, forceUpdate: true });
      const ready = topics.every((t) => {
        const topic = meta.topics.get(t);
        return topic && topic.partitionsCount > 0 && topic.partitions.every((p) => p.leader >= 0);
      });
      if (ready) return missing;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`Kafka topics ${topics.join(', ')} have no leader after ${timeoutMs} ms`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
