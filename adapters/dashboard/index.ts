/**
 * The pages' routes on the control plane (web/ is the pages). They ride on the gateway role: the
 * pages read the log through the gateway's own public WebSocket, and the browser may reach neither
 * the internal API port nor hold its token, so the control plane hands out streams (one per routing
 * key and process, adapters/dashboard/streams.ts) and where to connect to them. The manager's screen
 * reads the customers' events (`customer.#`), not the whole log; a shopper's phone its customer's, the
 * events view what its filter selects. With CONTROL_TOKEN (or ESS_API_TOKEN alone) the config needs
 * the token and the stream a ticket (adapters/process/access.ts).
 *
 *   GET  /dashboard/config?since=<ms>[&customer=&type=&scope=]  stream, store plan, log head, where to start the replay, counters
 *   GET  /dashboard/coupons/:id        a coupon's terms and product names (the phone's cards)
 *   POST /dashboard/helped             {"customer_id"} → a `helped` event in the customer's log stream
 *   POST /dashboard/phone-link         {"customer_id", "valid_for_s"?} → a shopper's signed phone link
 *   GET  /phone/:customerId[/config|/coupons/:id]  a shopper's phone (adapters/dashboard/phone-page.ts), at the root only
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { STORE_PLAN } from '../../actors/data/store-plan.ts';
import { StreamRecords, type GatewayHandle } from '../gateway/index.ts';
import { databaseOf, type RoleContext, type RoleFactory, type RouteOptions } from '../process/role.ts';
import { AppError } from '../process/errors.ts';
import { accessFrom, streamAdmits, streamTicket } from '../process/access.ts';
import { PageStreams } from './streams.ts';
import { pageStreamKey, SEGMENT } from './page-stream-key.ts';
import { couponDetails } from './coupon-details.ts';
import { phoneRoutes } from './phone-page.ts';
import { insideAt, latestFrom } from './latest-from.ts';
import { PHONE_LINK_DEFAULT_S, PHONE_LINK_MAX_S, signPhoneLink } from './phone-link.ts';
import { countSince, last } from './log-counts.ts';
import { firstPositionSince } from '../gateway/log-position.ts';

/** The page folds the log itself: it starts this far back, so shoppers already inside show up and its charts (the last 15 minutes) are full. */
export const REPLAY_WINDOW_MS = 15 * 60_000;
/** …but never more than this many events back (a busy store at high SIM_SPEED); the charts then start at the first one. */
export const REPLAY_MAX_EVENTS = 50_000;

/** What the page folds: every event of every customer (entries, moves, focus, browsing, predictions, redemptions, helped, exits). */
export const DASHBOARD_ROUTING_KEY = pageStreamKey({});

const CUSTOMER_ID = SEGMENT;
// checked by hand: the control plane's validator coerces types, and `[1]` must not become customer 1
const HelpedBody = Type.Object({ customer_id: Type.Unknown({ description: 'the customer id (string or integer)' }) }, { additionalProperties: false });
const PhoneLinkBody = Type.Object(
  {
    customer_id: Type.Union([Type.String({ maxLength: 64 }), Type.Integer({ minimum: 0 })], { description: 'the customer id' }),
    valid_for_s: Type.Optional(
      Type.Integer({ minimum: 60, maximum: PHONE_LINK_MAX_S, description: `how long the link opens the phone, seconds (default ${PHONE_LINK_DEFAULT_S})` }),
    ),
  },
  { additionalProperties: false },
);
const ConfigQuery = Type.Object({
  since: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 8.64e15,
      description: 'Start of "today" in ms since the epoch (the browser\'s local midnight); default the server\'s UTC midnight',
    }),
  ),
  customer: Type.Optional(Type.String({ pattern: SEGMENT.source, description: "Only this customer's events (a shopper's phone, the events view's filter)" })),
  type: Type.Optional(Type.String({ pattern: SEGMENT.source, description: 'Only events of this type (entry, move, focus, prediction, …)' })),
  scope: Type.Optional(
    Type.Union([Type.Literal('store'), Type.Literal('log')], {
      description: "store (default): the customers' events; log: the whole log, rejected inputs and process records too",
    }),
  ),
  from: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 2 ** 53 - 1,
      description: "A filtered view's start (an ordinal); default its filter's newest 200 events in the whole log",
    }),
  ),
});

/** Wraps the gateway role so its handle also serves the dashboard routes. */
export function withDashboard(gateway: RoleFactory): RoleFactory {
  return async (ctx) => {
    const handle = (await gateway(ctx)) as GatewayHandle;
    // its views read the log and the store with SQL of their own
    if (!ctx.database) {
      ctx.log.info({ role: 'gateway' }, 'no dashboard on the in-memory event log (it reads PostgreSQL)');
      return handle;
    }
    const dashboard = dashboardRoutes(ctx, handle);
    return {
      ...handle,
      routes: dashboard.routes,
      async stop() {
        await dashboard.forget().catch((err) => ctx.log.warn({ err }, 'could not delete the dashboard streams'));
        await handle.stop();
      },
    } satisfies GatewayHandle;
  };
}

export function dashboardRoutes(ctx: RoleContext, gateway: Pick<GatewayHandle, 'streamPort' | 'guard' | 'unguard'>) {
  const db = databaseOf(ctx, 'dashboard').db;
  const records = new StreamRecords(db);
  const cfg = ctx.config.gateway;
  const log = ctx.log.child({ role: 'gateway', part: 'dashboard' });
  const helped = ctx.metrics.counter('storeflow_dashboard_helped_total', 'Browsing customers marked as helped from the dashboard');
  const access = accessFrom(ctx.config);
  // one stream per routing key for every page this process serves (the routes are mounted twice: they share them)
  const streams = new PageStreams({
    records,
    log,
    guard: access.token ? (id) => gateway.guard(id, streamAdmits(access, id)) : undefined,
    unguard: access.token ? (id) => gateway.unguard(id) : undefined,
  });
  /** Where a phone starts: its customer's last entry when they are inside, else what came after their last exit within the replay window (a scenario draft walks in without an entry). */
  const visitFrom = async (customer: string, windowFrom: number) => {
    const streamId = `customer-${customer}`;
    const [entry, exit] = await Promise.all([last(ctx.eventLog, streamId, 'entry'), last(ctx.eventLog, streamId, 'exit')]);
    if (entry && (!exit || Number(entry.position) > Number(exit.position))) return Number(entry.position);
    return Math.max(exit ? Number(exit.position) + 1 : 1, windowFrom);
  };

  /** Everything a page needs to start (GET /dashboard/config; a shopper's phone gets its customer's, GET /phone/:id/config). */
  const pageConfig = async (q: { customer?: string; type?: string; scope?: 'store' | 'log'; since?: number; from?: number }) => {
    const { customer, type, scope } = q;
    const routingKey = pageStreamKey({ customer, type, scope });
    const { id } = await streams.get(routingKey);
    const now = Date.now();
    const since = q.since ?? Math.floor(now / 86_400_000) * 86_400_000;
    const head = await ctx.eventLog.head();
    const first = Math.min(await firstPositionSince(ctx.eventLog, now - REPLAY_WINDOW_MS), head + 1);
    const replayFrom = Math.max(first, head - REPLAY_MAX_EVENTS + 1, 1);
    const capped = replayFrom > Math.max(first, 1);
    // the counters are the manager's screen's; a filtered stream (a phone, the events view) goes without
    const filtered = customer !== undefined || type !== undefined || scope === 'log';
    const today = filtered
      ? undefined
      : { n: await countSince(ctx.eventLog, 'prediction', since, head), redeemed: await countSince(ctx.eventLog, 'redemption', since, head) };
    const path = `/event-stream/${id}`;
    return {
      stream: {
        id,
        path,
        port: gateway.streamPort,
        routing_key: routingKey,
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
      // a filtered view starts at its own newest LATEST_FILTERED events, found in the whole log, or where it says;
      // and who is inside there, so the events view tells shoppers from the pump's customers (the events view's scope only:
      // a shopper's phone learns nothing of others)
      ...(scope === 'log' ? await filterStart(q.from ?? (await latestFrom(db, { customer, type }, head))) : {}),
      // a customer's visit: their phone replays from here
      ...(customer === undefined ? {} : { visit_from: await visitFrom(customer, replayFrom) }),
      ...(today ? { today: { since, predictions: today.n, redemptions: today.redeemed } } : {}),
      server_time: now,
    };
  };

  const filterStart = async (from: number) => ({ filter_from: from, inside: await insideAt(db, from) });

  const couponOf = async (id: number) => {
    const coupon = await couponDetails(db, id);
    if (!coupon) throw new AppError('not_found', `no coupon ${id}`);
    return coupon;
  };

  const routes: FastifyPluginAsyncTypebox<RouteOptions> = async (app) => {
    // a page has one address: the phone is at the root only (not under /gateway)
    if (app.prefix === '') await app.register(phoneRoutes({ access, configOf: (customer) => pageConfig({ customer }), couponOf }));
    app.get(
      '/dashboard/config',
      {
        schema: {
          summary:
            "Everything a page needs to start: its event stream (the store's, or narrowed by customer, type and scope), the store plan, where to replay from (a customer's visit too), today's counters",
          querystring: ConfigQuery,
        },
      },
      async (req) => pageConfig(req.query),
    );

    app.get(
      '/dashboard/coupons/:id',
      {
        schema: {
          summary: "A coupon's terms and the names of its first products, from the cache DB (a shopper's phone shows them; the log keeps the decision only)",
          params: Type.Object({ id: Type.Integer({ minimum: 0, maximum: 2147483647 }) }),
        },
      },
      async (req) => couponOf(req.params.id),
    );

    app.post(
      '/dashboard/phone-link',
      {
        schema: {
          summary:
            "A shopper's own phone link: opens that customer's phone (their offers only) without the operator's token, until it expires. Signed with a key derived from the token; unsigned when no token is set",
          body: PhoneLinkBody,
        },
      },
      async (req, reply) => {
        const customer = String(req.body.customer_id);
        if (!CUSTOMER_ID.test(customer)) throw new AppError('bad_request', 'customer_id must be 1-64 letters, digits, _ - or :');
        const validFor = req.body.valid_for_s ?? PHONE_LINK_DEFAULT_S;
        const origin = `${req.protocol}://${req.host}`;
        if (!access.token) {
          const path = `/phone/${encodeURIComponent(customer)}`;
          return reply.status(201).send({ customer_id: customer, path, url: `${origin}${path}`, signed: false, expires_at: null });
        }
        const link = signPhoneLink(access.token, customer, validFor);
        return reply
          .status(201)
          .send({ customer_id: customer, path: link.path, url: `${origin}${link.path}`, signed: true, expires_at: new Date(link.until * 1000).toISOString() });
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
        const alert = await last(ctx.eventLog, streamId, 'browsing');
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
    /** The stream records go with the process that made them; pages fetch the config again on reconnect. */
    forget: () => streams.forget(),
  };
}
