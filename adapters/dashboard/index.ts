/**
 * The dashboard's routes on the control plane (web/ is the page). They ride on the gateway role:
 * the page reads the log through the gateway's own public WebSocket, and the browser may reach
 * neither the internal API port nor hold its token, so the control plane hands out one stream per
 * process (created on first use, deleted on stop) and where to connect to it. The stream carries
 * what the page folds, the customers' events (`customer.#`), not the whole log; with CONTROL_TOKEN
 * (or ESS_API_TOKEN alone) the config needs the token and the stream a ticket (adapters/process/access.ts).
 *
 *   GET  /dashboard/config?since=<ms>  stream, store plan, log head, where to start the replay (and whether it was capped), counters
 *   POST /dashboard/helped             {"customer_id"} → a `helped` event in the customer's log stream
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { STORE_PLAN } from '../../actors/data/store-plan.ts';
import { StreamRecords, type GatewayHandle } from '../gateway/index.ts';
import type { RoleContext, RoleFactory, RouteOptions } from '../process/role.ts';
import { AppError } from '../process/errors.ts';
import { accessFrom, streamAdmits, streamTicket } from '../process/access.ts';

/** The page folds the log itself: it starts this far back, so shoppers already inside show up and its charts (the last 15 minutes) are full. */
export const REPLAY_WINDOW_MS = 15 * 60_000;
/** …but never more than this many events back (a busy store at high SIM_SPEED); the charts then start at the first one. */
export const REPLAY_MAX_EVENTS = 50_000;

/** What the page folds: every event of every customer (entries, moves, focus, browsing, predictions, redemptions, helped, exits). */
export const DASHBOARD_ROUTING_KEY = 'customer.#';

const CUSTOMER_ID = /^[A-Za-z0-9_:-]{1,64}$/;
// checked by hand: the control plane's validator coerces types, and `[1]` must not become customer 1
const HelpedBody = Type.Object({ customer_id: Type.Unknown({ description: 'the customer id (string or integer)' }) }, { additionalProperties: false });
const ConfigQuery = Type.Object({
  since: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 8.64e15,
      description: 'Start of "today" in ms since the epoch (the browser\'s local midnight); default the server\'s UTC midnight',
    }),
  ),
});

/** Wraps the gateway role so its handle also serves the dashboard routes. */
export function withDashboard(gateway: RoleFactory): RoleFactory {
  return async (ctx) => {
    const handle = (await gateway(ctx)) as GatewayHandle;
    const dashboard = dashboardRoutes(ctx, handle);
    return {
      ...handle,
      routes: dashboard.routes,
      async stop() {
        await dashboard.forget().catch((err) => ctx.log.warn({ err }, 'could not delete the dashboard stream'));
        await handle.stop();
      },
    } satisfies GatewayHandle;
  };
}

export function dashboardRoutes(ctx: RoleContext, gateway: Pick<GatewayHandle, 'streamPort' | 'guard'>) {
  const db = ctx.database.db;
  const records = new StreamRecords(db);
  const cfg = ctx.config.gateway;
  const log = ctx.log.child({ role: 'gateway', part: 'dashboard' });
  const helped = ctx.metrics.counter('storeflow_dashboard_helped_total', 'Browsing customers marked as helped from the dashboard');
  // one stream for every page this process serves (the routes are mounted twice: share it)
  let stream: Promise<{ id: string }> | undefined;
  const access = accessFrom(ctx.config);
  const dashboardStream = () =>
    (stream ??= records
      .create(DASHBOARD_ROUTING_KEY)
      .then((r) => {
        if (access.token) gateway.guard(r.id, streamAdmits(access, r.id));
        log.info({ stream: r.id, routingKey: DASHBOARD_ROUTING_KEY }, 'dashboard stream created');
        return r;
      })
      .catch((err) => {
        stream = undefined;
        throw err;
      }));

  const routes: FastifyPluginAsyncTypebox<RouteOptions> = async (app) => {
    app.get(
      '/dashboard/config',
      {
        schema: {
          summary: "Everything the dashboard page needs to start: its event stream, the store plan, where to replay from, today's counters",
          querystring: ConfigQuery,
        },
      },
      async (req) => {
        const { id } = await dashboardStream();
        const now = Date.now();
        const since = req.query.since ?? Math.floor(now / 86_400_000) * 86_400_000;
        const head = await ctx.eventLog.head();
        const first = Math.min(await ctx.eventLog.firstPositionSince(now - REPLAY_WINDOW_MS), head + 1);
        const replayFrom = Math.max(first, head - REPLAY_MAX_EVENTS + 1, 1);
        const capped = replayFrom > Math.max(first, 1);
        const today = { n: await ctx.eventLog.countSince('prediction', since, head), redeemed: await ctx.eventLog.countSince('redemption', since, head) };
        const path = `/event-stream/${id}`;
        return {
          stream: {
            id,
            path,
            port: gateway.streamPort,
            // with ESS_INGRESS_LOCATION the location is authoritative; otherwise the page uses its own host name
            location: cfg.ingressLocation
              ? `${cfg.ingressSecure ? 'wss' : 'ws'}://${cfg.ingressLocation.replace(/^wss?:\/\//, '').replace(/\/+$/, '')}${path}`
              : null,
            // a browser cannot put a header on a WebSocket: the page adds ?ticket= (valid a minute; it fetches this again to reconnect)
            ...(access.token ? { ticket: streamTicket(access.token, id) } : {}),
          },
          plan: STORE_PLAN,
          // the roles actually running (a configured role missing from this build is not)
          roles: [...ctx.peers.keys()],
          head,
          replay_from: replayFrom,
          // the replay covers the last replay_window_ms, unless capped at REPLAY_MAX_EVENTS (then it starts later)
          replay_window_ms: REPLAY_WINDOW_MS,
          replay_capped: capped,
          today: { since, predictions: today.n, redemptions: today.redeemed },
          server_time: now,
        };
      },
    );

    app.post(
      '/dashboard/helped',
      {
        schema: {
          summary: "Mark a browsing customer as helped: appends a `helped` event to the customer's log stream (every dashboard sees it)",
          body: HelpedBody,
        },
      },
      async (req, reply) => {
        const raw = req.body.customer_id;
        const id = typeof raw === 'string' || Number.isSafeInteger(raw) ? String(raw) : '';
        if (!CUSTOMER_ID.test(id)) throw new AppError('bad_request', 'customer_id must be 1-64 letters, digits, _ - or :');
        const streamId = `customer-${id}`;
        const alert = await ctx.eventLog.last(streamId, 'browsing');
        if (!alert) throw new AppError('not_found', `customer ${id} has no browsing alert`);
        const [logged] = await ctx.eventLog.append([
          {
            streamId,
            type: 'helped',
            metadata: { source: 'http', cause: Number(alert.position) },
            data: { id, ts: Math.floor(Date.now() / 1000), alert: Number(alert.position) },
          },
        ]);
        helped.inc();
        return reply.status(201).send({ ess_ordinal: logged.position, customer_id: id });
      },
    );
  };

  return {
    routes,
    /** The stream record goes with the process that made it; pages fetch the config again on reconnect. */
    async forget() {
      if (!stream) return;
      const s = await stream.catch(() => undefined);
      stream = undefined;
      if (s) await records.delete(s.id);
    },
  };
}
