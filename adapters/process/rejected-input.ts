/**
 * A bad input's trace: a warning, a `rejected` record in the log (holding nothing the database would refuse, so it
 * can always be kept) and, when DEAD_LETTER_TOPIC is set, the message on the dead-letter topic. Never throws.
 */
import type { RejectCode } from '../../schemas/normalise.ts';
import { storableText } from '../../schemas/storable.ts';
import type { EventLog } from '../../actors/kernel/event-log.ts';
import type { TransportClient } from '../edges/transport.ts';
import type { Logger } from './logger.ts';
import type { InputSource } from './processor-contract.ts';

export async function logRejected(
  to: { log: Logger; eventLog: Pick<EventLog, 'append'>; broker?: TransportClient; deadLetter?: string },
  bad: { code: RejectCode; reason: string; topic: string; text: string; source: InputSource },
): Promise<void> {
  const { code, reason, topic, text, source } = bad;
  const sample = storableText(text.length > 512 ? `${text.slice(0, 512)}…` : text);
  to.log.warn({ topic, reason, code, source, bytes: Buffer.byteLength(text) }, 'input rejected');
  const record = { topic: storableText(topic), code, reason: storableText(reason), payload: sample, bytes: Buffer.byteLength(text) };
  await to.eventLog
    .append([{ streamId: 'rejected', type: 'rejected', data: record, metadata: { source, topic: record.topic } }])
    .catch((err) => to.log.error({ err }, 'could not log a rejected input'));
  if (to.deadLetter && to.broker)
    await to.broker.publish(to.deadLetter, JSON.stringify({ ...record, payload: text.length > 65536 ? sample : text })).catch(() => {});
}
