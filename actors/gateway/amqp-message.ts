/**
 * A RabbitMQ message as the event log keeps it, and as a stream client receives it back, the way seed
 * 004's original service streams it: a body that starts with `{` is JSON, sent with `ess_ordinal` and
 * `ess_timestamp` added; any other body is text (the seed's publisher sends protobuf text such as
 * `accountserver.MerchantCharge|merchant_id: 1 …`), sent with `|ordinal: N|timestamp: T` appended.
 *
 * Three formats, recorded in the entry's `metadata.format`:
 * - `text`: data `{"text": body}`; streamed as the text plus `|ordinal: N|timestamp: T`.
 * - `message`: a JSON object that already has `message_type` and `message_body` (what the seed's
 *   listener reads); streamed as it is, plus `ess_ordinal` and `ess_timestamp`.
 * - none: any other JSON body; streamed like every storeflow event, under `message_type` (the routing
 *   key's first segment) and `message_body` (the body), so the seed's listener can read it.
 */
import type { NewEvent } from '../kernel/event-log.ts';
import { storableText, unstorableReason } from '../../schemas/storable.ts';

/** Larger bodies are acknowledged and logged as `rejected` rather than stored. */
export const MAX_AMQP_BODY = 1_048_576;

export type AmqpFormat = 'text' | 'message';

/** The log entry for one AMQP message. */
export function amqpEvent(routingKey: string, body: Buffer, messageId?: string): NewEvent {
  const key = storableText(routingKey);
  const first = key.split('.')[0];
  const streamId = `amqp-${key || 'default'}`;
  const type = /^[A-Za-z0-9_:-]+$/.test(first) ? first : 'amqp';
  const id = messageId === undefined ? undefined : storableText(messageId);
  const metadata = (format?: AmqpFormat) => ({ source: 'amqp', routing_key: key, ...(format ? { format } : {}) });
  const rejected = (code: string, reason: string, extra: object = {}): NewEvent => ({
    streamId,
    type: 'rejected',
    data: { code, reason, routing_key: key, ...extra },
    metadata: metadata(),
    messageId: id,
  });
  if (body.length > MAX_AMQP_BODY) return rejected('too_large', `AMQP body of ${body.length} bytes exceeds ${MAX_AMQP_BODY}`);
  const text = body.toString('utf8');
  if (!text.startsWith('{')) {
    if (unstorableReason(text)) return rejected('unstorable', 'the text holds a NUL character or a lone surrogate', { raw: storableText(text.slice(0, 1000)) });
    return { streamId, type, data: { text }, metadata: metadata('text'), messageId: id };
  }
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return rejected('invalid_json', storableText((err as Error).message), { raw: storableText(text.slice(0, 1000)) });
  }
  const unstorable = unstorableReason(data);
  if (unstorable) return rejected('unstorable', unstorable, { raw: storableText(text.slice(0, 1000)) });
  const message = 'message_type' in data && 'message_body' in data;
  return { streamId, type, data, metadata: metadata(message ? 'message' : undefined), messageId: id };
}

/** The format of a logged entry from its metadata (JSON text as stored); only AMQP entries have one. */
export function amqpFormatOf(metadataJson: string): AmqpFormat | undefined {
  const f = (JSON.parse(metadataJson) as { format?: unknown }).format;
  return f === 'text' || f === 'message' ? f : undefined;
}

/** The frame a stream client gets for an AMQP entry in the `text` or `message` format. */
export function amqpFrame(format: AmqpFormat, dataJson: string, position: number, recordedAt: number): string {
  const data = JSON.parse(dataJson) as Record<string, unknown>;
  if (format === 'text') return `${String(data.text)}|ordinal: ${position}|timestamp: ${recordedAt}`;
  return JSON.stringify({ ...data, ess_ordinal: position, ess_timestamp: recordedAt });
}
