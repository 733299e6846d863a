/**
 * Where a stream client starts (its query parameters), the message it receives, and the seam
 * between replaying the log and tailing it live.
 */
import { amqpFrame, type AmqpFormat } from './amqp-message.ts';

/** Live: what is logged after `after` (the log's head when the client joined); or from an ordinal, or from a time. */
export type StreamStart = { from: 'live'; after?: number } | { from: 'ordinal'; position: number } | { from: 'time'; ms: number };

export type StartCheck = { ok: true; start: StreamStart } | { ok: false; reason: string };

const PARAMS = ['stream_from_ordinal', 'stream_from_timestamp', 'stream_from_datetime'] as const;
const INTEGER = /^\d{1,15}$/;
// ISO 8601 date-time; the offset (Z or ±hh:mm) is honoured, none means UTC
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** Parses the WebSocket query: at most one of stream_from_ordinal / _timestamp / _datetime. */
export function parseStreamStart(query: URLSearchParams): StartCheck {
  const given = PARAMS.filter((p) => query.has(p));
  if (given.length === 0) return { ok: true, start: { from: 'live' } };
  if (given.length > 1) return { ok: false, reason: `use one of ${PARAMS.join(', ')}, not ${given.join(' and ')}` };
  if (query.getAll(given[0]).length > 1) return { ok: false, reason: `${given[0]} given more than once` };
  const raw = (query.get(given[0]) ?? '').trim();
  switch (given[0]) {
    case 'stream_from_ordinal':
      if (!INTEGER.test(raw)) return { ok: false, reason: 'stream_from_ordinal must be a non-negative integer' };
      return { ok: true, start: { from: 'ordinal', position: Number(raw) } };
    case 'stream_from_timestamp':
      if (!INTEGER.test(raw)) return { ok: false, reason: 'stream_from_timestamp must be milliseconds since the epoch (a non-negative integer)' };
      return { ok: true, start: { from: 'time', ms: Number(raw) } };
    case 'stream_from_datetime': {
      // an unencoded `+02:00` arrives as ` 02:00` after query decoding: put the plus back
      const text = raw.replace(/ (\d{2}:?\d{2})$/, '+$1');
      const ms = parseDatetime(text);
      if (ms === undefined) return { ok: false, reason: 'stream_from_datetime must be an ISO 8601 date-time, e.g. 2024-05-01T10:00:00+02:00' };
      return { ok: true, start: { from: 'time', ms } };
    }
  }
}

export function parseDatetime(text: string): number | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone = 'Z'] = m;
  const fields = [Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s)];
  if (fields[1] < 1 || fields[1] > 12 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 || fields[4] > 59 || fields[5] > 60) return undefined;
  let ms = Date.UTC(fields[0], fields[1] - 1, fields[2], fields[3], fields[4], fields[5]) + Math.floor(Number(`0${frac || '.0'}`) * 1000);
  if (new Date(Date.UTC(fields[0], fields[1] - 1, fields[2])).getUTCDate() !== fields[2]) return undefined; // 31 February
  if (zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (!z) return undefined; // the ISO pattern admits no other zone
    const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000;
    if (Number(z[2]) > 23 || Number(z[3]) > 59) return undefined;
    ms -= z[1] === '+' ? offset : -offset;
  }
  return ms;
}

/** One event as the gateway sends it; data and metadata already JSON text (as stored). */
export interface StreamEvent {
  position: number;
  recordedAt: number;
  type: string;
  streamId: string;
  version: number;
  messageId?: string | null;
  dataJson: string;
  metadataJson: string;
  /** An AMQP message streamed the way seed 004's original does (actors/gateway/amqp-message.ts). */
  format?: AmqpFormat;
}

/**
 * The message text: the event under the seed's names (`message_type` = type, `message_body` = data)
 * plus `ess_ordinal` (log position) and `ess_timestamp` (ms), then the log record's own fields.
 * Built by concatenation so a replay never parses and re-serialises the stored JSON.
 */
export function streamMessage(e: StreamEvent): string {
  if (e.format) return amqpFrame(e.format, e.dataJson, e.position, e.recordedAt);
  return `{"ess_ordinal":${e.position},"ess_timestamp":${e.recordedAt},"message_type":${JSON.stringify(e.type)},"message_body":${e.dataJson},"stream_id":${JSON.stringify(e.streamId)},"version":${e.version}${e.messageId == null ? '' : `,"message_id":${JSON.stringify(e.messageId)}`},"metadata":${e.metadataJson}}`;
}

/**
 * The replay-to-live seam of one client. Live events that arrive while the client is still being
 * replayed from the database are held (up to `limit`); when the replay reaches the end of the
 * log, the held ones after the last replayed position are released and the client goes live.
 * If more than `limit` arrive meanwhile, they are dropped and the replay simply goes on from the
 * database (they are durable there), so a long replay never costs unbounded memory.
 * Positions only ever increase: nothing is sent twice, nothing is skipped.
 */
export class ReplaySeam<T extends { position: number }> {
  private held: T[] = [];
  private overflowed = false;
  /** Highest position handed to the client so far. */
  lastSent: number;
  live: boolean;

  constructor(
    private limit: number,
    opts: { live: boolean; after?: number },
  ) {
    this.live = opts.live;
    this.lastSent = opts.after ?? 0;
  }

  /** Live events (in position order) → those to send now. */
  offer(events: readonly T[]): T[] {
    if (!this.live) {
      if (this.overflowed) return [];
      for (const e of events) this.held.push(e);
      if (this.held.length > this.limit) {
        this.held = [];
        this.overflowed = true;
      }
      return [];
    }
    const out: T[] = [];
    for (const e of events)
      if (e.position > this.lastSent) {
        out.push(e);
        this.lastSent = e.position;
      }
    return out;
  }

  /** A replayed event: send it unless already sent. */
  replayed(position: number): boolean {
    if (position <= this.lastSent) return false;
    this.lastSent = position;
    return true;
  }

  /**
   * The replay read the end of the log. Returns the held events to send and goes live, or
   * undefined when held events were dropped: read the database again from lastSent + 1.
   */
  caughtUp(): T[] | undefined {
    if (this.overflowed) {
      this.overflowed = false;
      this.held = [];
      return undefined;
    }
    const out = this.held.filter((e) => e.position > this.lastSent);
    this.held = [];
    if (out.length) this.lastSent = out[out.length - 1].position;
    this.live = true;
    return out;
  }
}
