/**
 * The control plane: one Fastify server per process. `buildControlPlane` is the factory tests drive
 * with inject(); scripts/start.ts calls listen. Roles add their routes as plugins.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { AppError } from './errors.ts';
import { notJson, useJsonBodies } from './json-body.ts';
import { useRequestMetrics } from './http-metrics.ts';
import { OpenApiDocs, CONTROL_PLANE_DESCRIPTION, CONTROL_PLANE_TAGS, VERSION } from './openapi.ts';
import type { ReadinessCheck, RouteOptions } from './role.ts';

export type { ReadinessCheck };
import { openRoute, useAccess, type Access } from './access.ts';

export interface ControlPlaneOptions {
  log: Logger;
  metrics: Metrics;
  readiness: ReadinessCheck[];
  /** Role plugins: mounted under /<prefix>, and at the root when `root` is true. */
  plugins?: { prefix: string; plugin: FastifyPluginAsyncTypebox<RouteOptions>; root: boolean; sharedPaths: boolean }[];
  webDir?: string | false;
  bodyLimit?: number;
  /** CONTROL_TOKEN / ESS_API_TOKEN (adapters/process/access.ts); unset = open. */
  access?: Access;
}

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

export async function buildControlPlane(o: ControlPlaneOptions): Promise<FastifyInstance> {
  // request logs are info lines; the control plane logs warnings and errors only
  // stopping closes every connection, kept-alive ones included (a client's idle pool would otherwise hold the process)
  const app = Fastify({
    loggerInstance: o.log.child({ role: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: o.bodyLimit ?? 1_048_576,
    forceCloseConnections: true,
  }); // role plugins bring their own type provider (FastifyPluginAsyncTypebox)

  useErrorCatalogue(app);
  useRequestMetrics(app, o.metrics);

  // tags by role, root aliases hidden and named on the listed operation, examples (adapters/process/openapi.ts)
  const docs = new OpenApiDocs();
  await docs.register(app, { title: 'storeflow control plane', description: CONTROL_PLANE_DESCRIPTION, version: VERSION, tags: CONTROL_PLANE_TAGS });
  // after swagger, so /auth is in the OpenAPI document
  if (o.access) useAccess(app, o.access);

  const ok = { response: { 200: Type.String() } };
  app.get('/healthcheck', { schema: { ...ok, description: 'Liveness (seeds 000, 002)' } }, async () => 'OK');
  app.get('/health', { schema: { ...ok, description: 'Liveness (seed 001)' } }, async () => 'OK');
  app.get('/readyz', { schema: { description: 'Readiness: broker and database connectivity; 503 when any is down' } }, async (_req, reply) => {
    const results = await Promise.all(o.readiness.map(async (r) => [r.name, await Promise.resolve(r.check()).catch(() => false)] as const));
    const checks = Object.fromEntries(results.map(([n, v]) => [n, v ? 'up' : 'down']));
    const ready = results.every(([, v]) => v);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', { schema: { description: 'Prometheus metrics' } }, async (_req, reply) => {
    reply.header('content-type', o.metrics.registry.contentType);
    return o.metrics.registry.metrics();
  });

  for (const p of o.plugins ?? []) {
    // under its prefix a role owns every one of its paths; at the root only if it owns the shared ones
    await app.register(p.plugin, { prefix: `/${p.prefix}`, sharedPaths: true });
    if (p.root)
      await app.register(async (root) => {
        root.addHook('onRoute', docs.aliasesOf(p.prefix));
        await root.register(p.plugin, { sharedPaths: p.sharedPaths });
      });
  }

  const webDir = o.webDir === undefined ? WEB_DIR : o.webDir;
  // the page's files are open whatever CONTROL_TOKEN says: it shows a login form when its calls get 401
  if (webDir && existsSync(webDir))
    await app.register(async (web) => {
      web.addHook('onRoute', openRoute);
      await web.register(fastifyStatic, { root: webDir, prefix: '/', index: ['index.html'], wildcard: false });
    });
  return app;
}

/**
 * The error catalogue on a Fastify server: AppError codes and statuses, schema and JSON errors as 400,
 * too large as 413, unknown routes as 404, JSON nested too deep as 400 and curl's form-encoded `-d` bodies read as JSON
 * (the seeds' examples; adapters/process/json-body.ts).
 */
export function useErrorCatalogue(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof AppError) return reply.status(err.status).send(err.toJSON());
    if (err.validation) return reply.status(400).send({ error: 'schema', message: err.message });
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError)
      return reply.status(400).send({ error: 'invalid_json', message: err.message });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send(notJson(req.headers['content-type'], false).toJSON());
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ error: 'too_large', message: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.status(err.statusCode).send({ error: 'bad_request', message: err.message });
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'internal', message: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));
  useJsonBodies(app);
}
