/**
 * Who may use the control plane (issue 14).
 *
 * - CONTROL_TOKEN set: every endpoint but the open ones (liveness, readiness, metrics, docs, the
 *   page's files, /auth) needs `Authorization: Bearer <token>` or the cookie `POST /auth` sets, and
 *   so does the dashboard's stream on the gateway's public port (a short-lived ticket in its URL,
 *   the cookie, or the header).
 * - ESS_API_TOKEN alone: what reveals the event log (the dashboard's config and stream, sessions,
 *   the detector's shoppers) needs that token, as the internal API does; the rest stays open.
 * - Neither: open, as on a laptop bound to 127.0.0.1 (HOST's default).
 * - A shopper's phone is opened by its own signed link instead (adapters/dashboard/phone-link.ts):
 *   that customer's stream only, until the link expires; the operator mints it (POST /dashboard/phone-link).
 *
 * Tokens are compared in constant time; the cookie holds an HMAC of the token, never the token.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest, RouteOptions as FastifyRouteOptions } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Config } from '../../schemas/env.ts';
import { AppError } from './errors.ts';

export const COOKIE = 'storeflow_control';
/** A browser stays logged in this long (or until the token changes, or DELETE /auth). */
export const COOKIE_MAX_AGE_S = 30 * 86_400;
/** A stream ticket from /dashboard/config opens the stream for this long (the page fetches one per connect). */
export const TICKET_TTL_MS = 60_000;

export interface Access {
  /** The token checked: CONTROL_TOKEN, else ESS_API_TOKEN. */
  token?: string;
  /** 'all': everything but the open routes (CONTROL_TOKEN); 'log': what reveals the log (ESS_API_TOKEN alone); 'none'. */
  scope: 'all' | 'log' | 'none';
}

export function accessFrom(config: Pick<Config, 'controlToken' | 'gateway'>): Access {
  if (config.controlToken) return { token: config.controlToken, scope: 'all' };
  if (config.gateway.apiToken) return { token: config.gateway.apiToken, scope: 'log' };
  return { scope: 'none' };
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Constant time: both sides are hashed to 32 bytes first, so neither length nor content shows in the timing. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The cookie's value: an HMAC of the token (a stolen cookie does not reveal the token; a new token voids it). */
export function cookieValue(token: string): string {
  return createHmac('sha256', token).update('storeflow control cookie v1').digest('base64url');
}

function cookieFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A bearer header with the token, or the cookie POST /auth set. */
export function authorized(headers: IncomingHttpHeaders, token: string): boolean {
  const auth = headers.authorization;
  const bearer = typeof auth === 'string' ? /^bearer +(\S.*)$/i.exec(auth.trim()) : null;
  if (bearer && sameSecret(bearer[1], token)) return true;
  const cookie = cookieFrom(headers.cookie);
  return cookie !== undefined && sameSecret(cookie, cookieValue(token));
}

const ticketMac = (token: string, streamId: string, expires: number) =>
  createHmac('sha256', token).update(`storeflow stream ${streamId.toLowerCase()} ${expires}`).digest('base64url');

/** `<expiry ms>.<HMAC>`: opens one stream until it expires; a browser cannot set headers on a WebSocket. */
export function streamTicket(token: string, streamId: string, now = Date.now()): string {
  const expires = now + TICKET_TTL_MS;
  return `${expires}.${ticketMac(token, streamId, expires)}`;
}

export function ticketValid(token: string, streamId: string, ticket: string | null | undefined, now = Date.now()): boolean {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(ticket ?? '');
  if (!m) return false;
  const expires = Number(m[1]);
  return expires >= now && sameSecret(m[2], ticketMac(token, streamId, expires));
}

/** Whether a WebSocket upgrade may open a guarded stream: its ticket, the cookie or the bearer header. */
export function streamAdmits(access: Access, streamId: string): (req: IncomingMessage) => boolean {
  return (req) => {
    if (!access.token) return true;
    if (authorized(req.headers, access.token)) return true;
    const ticket = new URL(req.url ?? '/', 'ws://gateway').searchParams.get('ticket');
    return ticketValid(access.token, streamId, ticket);
  };
}

/** Routes anyone may call. /docs/* is swagger-ui; the page's files are marked by openRoute (http.ts). */
const OPEN = new Set(['/health', '/healthcheck', '/readyz', '/metrics', '/pump/healthcheck', '/auth']);
/** Routes that reveal the event log, under a role's prefix or at the root (a phone link opens a customer's events). */
const REVEALS_LOG = /^(?:\/[a-z]+)?\/(?:sessions|shoppers|dashboard\/config|dashboard\/phone-link)(?:\/:id)?$/;

export type RouteClass = 'open' | 'log' | 'control';

export function routeClass(req: FastifyRequest): RouteClass {
  if ((req.routeOptions.config as { access?: string } | undefined)?.access === 'open') return 'open';
  const url = req.routeOptions.url;
  if (url === undefined) return 'control'; // no such route: say nothing about what exists
  if (OPEN.has(url) || url === '/docs' || url.startsWith('/docs/')) return 'open';
  return REVEALS_LOG.test(url) ? 'log' : 'control';
}

/** An onRoute hook: the routes of a plugin registered after it are open (the page's static files). */
export function openRoute(route: FastifyRouteOptions): void {
  route.config = { ...(route.config as object | undefined), access: 'open' } as FastifyRouteOptions['config'];
}

const AuthBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 1024, description: 'CONTROL_TOKEN (or ESS_API_TOKEN when only that is set)' }) },
  { additionalProperties: false },
);

/** The check on every request of the control plane, and POST/DELETE /auth for browsers. */
export function useAccess(app: FastifyInstance, access: Access): void {
  app.addHook('onRequest', async (req, reply) => {
    if (access.scope === 'none' || !access.token) return;
    const cls = routeClass(req);
    if (cls === 'open' || (access.scope === 'log' && cls !== 'log')) return;
    if (authorized(req.headers, access.token)) return;
    reply.header('www-authenticate', 'Bearer');
    throw new AppError(
      'unauthorized',
      access.scope === 'all'
        ? 'CONTROL_TOKEN is set: send Authorization: Bearer <token>, or log in with POST /auth {"token"} (the dashboard shows a form)'
        : 'ESS_API_TOKEN guards the event log: send Authorization: Bearer <token>, or log in with POST /auth {"token"}',
    );
  });

  const cookie = (value: string, maxAge: number, secure: boolean) =>
    `${COOKIE}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  app.post<{ Body: { token: string } }>(
    '/auth',
    {
      schema: {
        summary:
          'Log a browser in: with the right token, sets an HttpOnly, SameSite=Strict cookie that stands for it (204); 401 otherwise. 204 without a cookie when no token is required',
        body: AuthBody,
      },
    },
    async (req, reply) => {
      if (!access.token) return reply.status(204).send();
      if (!sameSecret(req.body.token, access.token)) throw new AppError('unauthorized', 'wrong token');
      reply.header('set-cookie', cookie(cookieValue(access.token), COOKIE_MAX_AGE_S, req.protocol === 'https'));
      return reply.status(204).send();
    },
  );
  app.delete('/auth', { schema: { summary: 'Log a browser out: clears the cookie' } }, async (req, reply) => {
    reply.header('set-cookie', cookie('', 0, req.protocol === 'https'));
    return reply.status(204).send();
  });
}
