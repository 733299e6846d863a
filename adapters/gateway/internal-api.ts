/** The gateway's internal API (seed 004, STREAM_API_PORT): create, list, read and delete event streams. */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseRoutingKey } from '../../actors/gateway/routing-key.ts';
import type { Logger } from '../process/logger.ts';
import { AppError } from '../process/errors.ts';
import { useErrorCatalogue } from '../process/http.ts';
import { useRequestMetrics } from '../process/http-metrics.ts';
import type { Metrics } from '../process/metrics.ts';
import { OpenApiDocs, INTERNAL_API_DESCRIPTION, INTERNAL_API_TAGS } from '../process/openapi.ts';
import type { StreamRecord, StreamRecordStore } from './records.ts';

export interface InternalApiDeps {
  records: StreamRecordStore;
  /** Where a client connects to a stream (ESS_INGRESS_LOCATION or this gateway's STREAM_PORT). */
  locationOf(id: string): string;
  /** A stream was deleted: close its clients. */
  deleted(id: string): void;
  /** A stream was created (the RabbitMQ source binds its routing key); awaited before the answer. */
  created?(r: StreamRecord): Promise<void>;
  version: string;
  log: Logger;
  /** storeflow_http_request_duration_seconds / storeflow_http_requests_total for this server's routes too. */
  metrics?: Metrics;
}

const Stream = Type.Object({ id: Type.String({ format: 'uuid' }), location: Type.String(), routing_key: Type.String(), created_at: Type.String() });
const Problem = Type.Object({ error: Type.String(), message: Type.String() });
const tags = ['gateway'];

export function internalApiRoutes(d: InternalApiDeps): FastifyPluginAsyncTypebox {
  const view = (r: StreamRecord) => ({ id: r.id, location: d.locationOf(r.id), routing_key: r.routing_key, created_at: r.created_at });
  return async (app) => {
    // seed 004's answer: protocol (an enumeration; the original's is WEBSOCKET), name, version
    app.get(
      '/event-stream/version/',
      {
        schema: {
          tags,
          description: 'Service protocol, name and version (seed 004)',
          response: { 200: Type.Object({ protocol: Type.Literal('WEBSOCKET'), name: Type.String(), version: Type.String() }) },
        },
      },
      async () => ({ protocol: 'WEBSOCKET' as const, name: 'storeflow', version: d.version }),
    );
    app.post(
      '/event-stream/',
      {
        schema: {
          tags,
          description: 'Create an event stream for a routing key',
          body: Type.Object({ routing_key: Type.Unknown({ description: 'a routing key (string), see the grammar' }) }),
          response: { 201: Stream, 400: Problem },
        },
      },
      async (req, reply) => {
        const check = parseRoutingKey(req.body.routing_key);
        if (!check.ok) throw new AppError('bad_request', check.reason);
        const r = await d.records.create(check.segments.join('.'));
        await d.created?.(r);
        d.log.info({ stream: r.id, routingKey: r.routing_key }, 'event stream created');
        return reply.status(201).send(view(r));
      },
    );
    app.get(
      '/event-stream/',
      { schema: { tags, description: 'Every event stream', response: { 200: Type.Object({ event_streams: Type.Array(Stream) }) } } },
      async () => ({ event_streams: (await d.records.list()).map(view) }),
    );
    app.get(
      '/event-stream/:id',
      { schema: { tags, description: 'One event stream', params: Type.Object({ id: Type.String() }), response: { 200: Stream, 404: Problem } } },
      async (req) => {
        const r = await d.records.get(req.params.id);
        if (!r) throw new AppError('not_found', `no event stream ${req.params.id}`);
        return view(r);
      },
    );
    app.delete(
      '/event-stream/:id',
      { schema: { tags, description: 'Delete an event stream; its connected clients are closed at once', params: Type.Object({ id: Type.String() }) } },
      async (req, reply) => {
        if (!(await d.records.delete(req.params.id))) throw new AppError('not_found', `no event stream ${req.params.id}`);
        d.deleted(req.params.id);
        d.log.info({ stream: req.params.id }, 'event stream deleted');
        return reply.status(204).send();
      },
    );
  };
}

/** The internal API's own server; with ESS_API_TOKEN every request needs `Authorization: Bearer <token>`. */
export async function buildInternalApi(d: InternalApiDeps & { apiToken?: string }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: d.log.child({ part: 'api' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: 16 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  useErrorCatalogue(app);
  if (d.metrics) useRequestMetrics(app, d.metrics);
  // its own OpenAPI document at /docs and /docs/json, open like the control plane's
  await new OpenApiDocs().register(app, {
    title: 'storeflow gateway internal API',
    description: INTERNAL_API_DESCRIPTION,
    version: d.version,
    tags: INTERNAL_API_TAGS,
  });
  if (d.apiToken) {
    const expected = Buffer.from(`Bearer ${d.apiToken}`);
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/docs' || req.url.startsWith('/docs/')) return;
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        reply.header('www-authenticate', 'Bearer');
        throw new AppError('unauthorized', 'a valid Authorization: Bearer token is required');
      }
    });
  }
  await app.register(internalApiRoutes(d));
  return app;
}
