/**
 * The request target of a WebSocket upgrade on the gateway's public port, read without ever
 * throwing: a target that is not a URL, or a stream id with malformed percent-encoding, is a 400
 * before the upgrade; any other path a 404.
 */

export type StreamTarget = { ok: true; id: string; query: URLSearchParams } | { ok: false; status: 400 | 404; reason: string };

export const STREAM_PATH = /^\/event-stream\/([^/]+)\/?$/;

export function parseStreamTarget(target: string | undefined): StreamTarget {
  let url: URL;
  try {
    url = new URL(target ?? '/', 'ws://gateway');
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' };
  }
  const m = STREAM_PATH.exec(url.pathname);
  if (!m) return { ok: false, status: 404, reason: 'no such path' };
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  // the query is decoded leniently by URLSearchParams; a malformed escape there is a 400 all the same
  if (/%(?![0-9a-f]{2})/i.test(url.search)) return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  try {
    decodeURIComponent(url.search.replace(/\+/g, ' '));
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding' };
  }
  return { ok: true, id, query: url.searchParams };
}

const STATUS_LINE = { 400: '400 Bad Request', 404: '404 Not Found', 503: '503 Service Unavailable' } as const;

/** The whole HTTP response refusing an upgrade. */
export function refusal(status: keyof typeof STATUS_LINE): string {
  return `HTTP/1.1 ${STATUS_LINE[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`;
}
