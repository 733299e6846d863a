/** The gateway's paths: its internal API (stream bodies, ids and methods) and its public WebSocket port. */
import { hostileBody } from './inputs.ts';
import { hostileQuery, hostileSegment } from './inputs-url.ts';
import { classifyHttp, http } from './http.ts';
import { upgrade } from './upgrade.ts';
import { show, type FuzzPath, type Outcome, type PathContext } from './run.ts';

/** Streams for the WebSocket path: real ids with hostile queries reach the replay code. */
export async function createStreams(apiPort: number, timeoutMs: number): Promise<string[]> {
  const ids: string[] = [];
  for (const key of ['#', 'prediction', 'focus.*']) {
    const r = await http(
      'POST',
      apiPort,
      '/event-stream/',
      Buffer.from(JSON.stringify({ routing_key: key })),
      { 'content-type': 'application/json' },
      timeoutMs,
    );
    const id = /"id":"([0-9a-f-]{36})"/.exec(r.text)?.[1];
    if (id) ids.push(id);
  }
  return ids;
}

/** internal POST /event-stream/, internal GET/DELETE /event-stream/{id}, ws public /event-stream/{id}?… */
export function gatewayPaths(c: PathContext, ports: { api: number; stream: number }, streamIds: string[]): FuzzPath[] {
  const internalBodies: FuzzPath = {
    name: 'internal POST /event-stream/',
    run: (stats, rng) =>
      c.each(stats, c.count, c.concurrency, async (i) => {
        const r = rng.fork(i);
        const template = { routing_key: r.pick(['#', 'prediction', 'customer.*', 'focus.Men', 'entry.#']) };
        const body = hostileBody(r, template, { limit: 16 * 1024, fields: ['routing_key'] });
        const res = await http('POST', ports.api, '/event-stream/', body.bytes, { 'content-type': 'application/json' }, c.timeoutMs);
        return [classifyHttp(res, body.kind), () => `${body.kind} ${show(body.bytes)} → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`];
      }),
  };

  const internalPaths: FuzzPath = {
    name: 'internal GET/DELETE /event-stream/{id}',
    run: (stats, rng) =>
      c.each(stats, c.count, c.concurrency, async (i) => {
        const r = rng.fork(i);
        const method = r.pick(['GET', 'GET', 'DELETE', 'PUT', 'PATCH']);
        const target = r.chance(0.1)
          ? `/event-stream/version/${r.chance(0.5) ? hostileQuery(r, []) : ''}`
          : `/event-stream/${hostileSegment(r, streamIds.slice(0, 3))}${r.chance(0.3) ? hostileQuery(r, ['x']) : ''}`;
        // DELETE only hostile ids: the real streams stay for the WebSocket path
        const safe =
          method === 'DELETE' && streamIds.some((id) => target.includes(id)) ? target.replace(/[0-9a-f-]{36}/, '00000000-0000-0000-0000-000000000000') : target;
        const res = await http(method, ports.api, safe, undefined, {}, c.timeoutMs);
        return [
          classifyHttp(res, 'valid'),
          () => `${method} ${JSON.stringify(safe.slice(0, 200))} → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`,
        ];
      }),
  };

  const webSockets: FuzzPath = {
    name: 'ws public /event-stream/{id}?…',
    run: (stats, rng) =>
      c.each(stats, c.count, c.concurrency, async (i) => {
        const r = rng.fork(i);
        const id = r.chance(0.5) && streamIds.length ? r.pick(streamIds) : hostileSegment(r, streamIds.slice(0, 2));
        const path = r.chance(0.9) ? `/event-stream/${id}` : `/${hostileSegment(r)}`;
        const target = path + (r.chance(0.7) ? hostileQuery(r, ['stream_from_ordinal', 'stream_from_timestamp', 'stream_from_datetime']) : '');
        const extra = r.chance(0.05)
          ? r.pick([
              'Sec-WebSocket-Protocol: \u00ff\r\n',
              'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=0\r\n',
              `X-Junk: ${'x'.repeat(9000)}\r\n`,
            ])
          : '';
        const res = await upgrade(ports.stream, target, extra, c.timeoutMs);
        const outcome: Outcome = res.hang
          ? 'hang'
          : res.reset
            ? 'reset'
            : res.status >= 500 || res.close === 1011
              ? '5xx'
              : res.status === 101 && (res.close === undefined || res.close < 4000)
                ? 'ok'
                : 'refused';
        return [
          outcome,
          () =>
            `GET ${JSON.stringify(target.slice(0, 200))} → ${res.hang ? 'no answer' : res.reset ? 'connection closed without an answer' : `${res.status}${res.close ? ` close ${res.close}` : ''}`}`,
        ];
      }),
  };

  return [internalBodies, internalPaths, webSockets];
}
