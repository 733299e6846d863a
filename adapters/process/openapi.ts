/**
 * The OpenAPI documents, one per HTTP server: the control plane (`/docs`, `/docs/json` on PORT) and the
 * gateway's internal API (the same paths on STREAM_API_PORT).
 * - Tags by role: a route under /<role>/ carries its role's tag (the dashboard's feed, `dashboard`);
 *   the process-wide routes (probes, metrics, /auth) are `process`.
 * - Aliases: a role's routes are mounted under /<role> and again at the root (the seeds' paths). The
 *   prefixed operation is the one listed; the root copy is hidden, and the listed operation's
 *   description names it ("Also at `POST /mock_focus`").
 * - Examples: request bodies from the seeds (and, for storeflow's own endpoints, from the README).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, RouteOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

export interface Tag {
  name: string;
  description: string;
}

export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export const CONTROL_PLANE_DESCRIPTION = `storeflow's control plane (PORT): every role running in this process adds its routes.
Each role's operations are listed under /<role>/…; the seeds' paths at the root (/mock_focus, /produce_entry, /state, /start, /stop, …)
are aliases of the same operations, named in each operation's description and not listed twice. The bare /state, /start and /stop
belong to the pump when it runs in the process, otherwise to the simulator.
The gateway's internal API (seed 004, /event-stream/…) is a server of its own on STREAM_API_PORT, with its own document at
http://HOST:STREAM_API_PORT/docs; the event streams' WebSockets are on STREAM_PORT.
With CONTROL_TOKEN set, every operation but the probes, /metrics, /docs and /auth needs \`Authorization: Bearer <token>\` (or the cookie /auth sets).`;

export const INTERNAL_API_DESCRIPTION = `The event-stream gateway's internal API (seed 004), on STREAM_API_PORT: create, list, read and delete event streams.
A stream's \`location\` is its public WebSocket on STREAM_PORT, ws://HOST:STREAM_PORT/event-stream/{id}, optionally with
?stream_from_ordinal=N, ?stream_from_timestamp=MS or ?stream_from_datetime=ISO; each message is one JSON text frame
{ess_ordinal, ess_timestamp, message_type, message_body, stream_id, version, message_id, metadata}.
With ESS_API_TOKEN set, every operation needs \`Authorization: Bearer <token>\` (this document does not).
Trailing slashes are optional; errors are {"error": code, "message"}.`;

export const CONTROL_PLANE_TAGS: Tag[] = [
  { name: 'process', description: 'Every process: liveness and readiness probes, Prometheus metrics, browser login for CONTROL_TOKEN' },
  {
    name: 'recommender',
    description:
      'Seeds 002/003: entry and focus events in (here over HTTP, as from the broker), the coupon prediction out; live sessions; the original scorer protocol',
  },
  { name: 'detector', description: 'Focus and browsing detection from move events: who is tracked, where, for how many moves' },
  { name: 'simulator', description: 'Seed 001: simulated shoppers on a timeline, their entry/move/exit publications, scenarios' },
  { name: 'pump', description: 'Seed 000: the focus-event load generator (also START/STOP on COMMAND_TOPIC)' },
  { name: 'dashboard', description: 'The live dashboard\'s feed (gateway role): its event stream and "mark as helped"' },
];

export const INTERNAL_API_TAGS: Tag[] = [
  { name: 'gateway', description: 'Seed 004: create, list, read and delete event streams; clients then connect to ws://HOST:STREAM_PORT/event-stream/{id}' },
];

const ROLES = new Set(['recommender', 'detector', 'simulator', 'pump', 'gateway']);

/** The tag of a route by its URL: its role prefix, the dashboard's feed, or the process. */
export function tagOf(url: string): string {
  if (url.includes('/dashboard/')) return 'dashboard';
  const first = url.split('/')[1] ?? '';
  return ROLES.has(first) ? first : 'process';
}

const flat = (id: string, ts: number, more: object = {}) => ({ id, ts, ...more });

/** Request body examples by canonical path (as in the document, `{id}` for parameters), method first. */
export const EXAMPLES: Record<string, Record<string, unknown>> = {
  'POST /recommender/mock_entry': {
    'seed 002, flat': flat('100', 1764000000),
    'seed 002, envelope': { event_type: 'entry event', event_timestamp: '2021-03-18T08:29:02.160Z', payload: { customer_id: 3 } },
  },
  'POST /recommender/mock_focus': {
    'seed 002, flat': flat('100', 1764000060, { dep: 'Boys' }),
    'seed 002, envelope': { event_type: 'focus event', event_timestamp: '2021-03-18T08:29:02.160Z', payload: { customer_id: 8, category: 'Women' } },
  },
  'POST /recommender/score': {
    'seed 003, the prediction service protocol': {
      customer: {
        customer_id: 3,
        gender: 'F',
        age: 22,
        mean_buy_price: 25,
        total_coupons_used: 150,
        mean_discount_received: 20.5,
        unique_products_bought: 500,
        unique_products_bought_with_coupons: 140,
        total_items_bought: 900,
      },
      coupons: [
        {
          coupon_id: 1,
          coupon_type: 'just_discount',
          department: 'Men',
          discount: 20,
          how_many_products_required: 1,
          product_mean_price: 12.5,
          products_available: 1,
        },
      ],
    },
  },
  'POST /simulator/produce_entry': { 'seed 001': flat('997', 192326400) },
  'POST /simulator/produce_move': { 'seed 001': flat('997', 192326400, { x: 2, y: 3 }) },
  'POST /simulator/produce_exit': { 'seed 001': flat('997', 192326400) },
  'POST /simulator/scenario': {
    'a short visit': {
      customer: { customer_id: '127' },
      path: [
        { type: 'ENTER', location: { x: 905, y: 1300 }, timestamp: '2025-11-24T10:00:00Z' },
        { type: 'MOVE', location: { x: 200, y: 200 }, timestamp: '2025-11-24T10:00:30Z' },
        { type: 'EXIT', location: { x: 1700, y: 1300 }, timestamp: '2025-11-24T10:05:00Z' },
      ],
    },
  },
  'POST /simulator/scenario_draft': {
    'a walk and a focus': {
      customer: { customer_id: '127' },
      path: [
        { type: 'move', location: { x: 905, y: 1200 } },
        { type: 'focus', location: { x: 200, y: 200 } },
      ],
    },
  },
  'POST /simulator/settings': { 'a busier, faster store': { speed: 60, averageInStore: 20 } },
  'POST /pump/settings': { '100 focus events/s': { rate: 100 } },
  'POST /gateway/dashboard/helped': { 'a browsing customer was helped': { customer_id: '127' } },
  'POST /auth': { 'log in': { token: 'the CONTROL_TOKEN value' } },
  'POST /event-stream/': {
    'seed 004': { routing_key: 'abc' },
    'everything about customer 127': { routing_key: 'customer.127' },
    'every prediction': { routing_key: 'prediction' },
  },
};

const methodsOf = (r: RouteOptions) => (Array.isArray(r.method) ? r.method : [r.method]);
const docPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** Where aliases are recorded, then read when the document is generated (after every route is registered). */
export class OpenApiDocs {
  /** `METHOD /root-url` of every hidden alias. */
  private hidden = new Set<string>();
  /** `METHOD /canonical-url` → the aliases of that operation. */
  private aliases = new Map<string, string[]>();

  /** An onRoute hook for a role's routes mounted at the root: each is an alias of `/<prefix><url>`. */
  aliasesOf(prefix: string) {
    return (route: RouteOptions) => {
      for (const method of methodsOf(route)) {
        if (method === 'HEAD') continue;
        this.hidden.add(`${method} ${route.url}`);
        const canonical = `${method} /${prefix}${route.url}`;
        this.aliases.set(canonical, [...(this.aliases.get(canonical) ?? []), `${method} ${route.url}`]);
      }
    };
  }

  /** Registers @fastify/swagger and its UI at /docs on `app` (before the routes it documents). */
  async register(app: FastifyInstance, info: { title: string; description: string; version: string; tags: Tag[] }): Promise<void> {
    await app.register(swagger, {
      openapi: { info: { title: info.title, description: info.description, version: info.version }, tags: info.tags },
      transform: ({ schema, url, route }) => {
        const methods = methodsOf(route as RouteOptions).filter((m) => m !== 'HEAD');
        const s = (schema ?? {}) as Record<string, unknown>;
        if (methods.length && methods.every((m) => this.hidden.has(`${m} ${url}`))) return { schema: { ...s, hide: true } as typeof schema, url };
        const also = methods.flatMap((m) => this.aliases.get(`${m} ${url}`) ?? []);
        const description =
          [
            s.description,
            also.length ? `Also at ${also.map((a) => `\`${a}\``).join(', ')} (an alias: the seed's path at the root; not listed again).` : undefined,
          ]
            .filter(Boolean)
            .join('\n\n') || undefined;
        return { schema: { ...s, tags: (s.tags as string[] | undefined) ?? [tagOf(url)], ...(description ? { description } : {}) } as typeof schema, url };
      },
      transformObject: (doc) => ('openapiObject' in doc ? (withExamples(doc.openapiObject as OpenApiObject) as typeof doc.openapiObject) : doc.swaggerObject),
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
}

interface OpenApiObject {
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown; examples?: unknown }> } }>>;
}

/** Request body examples on the operations of EXAMPLES (a body with no schema gets a JSON object one). */
function withExamples(doc: OpenApiObject): OpenApiObject {
  for (const [key, examples] of Object.entries(EXAMPLES)) {
    const [method, path] = key.split(' ');
    const op = doc.paths?.[docPath(path)]?.[method.toLowerCase()];
    if (!op) continue;
    op.requestBody ??= { content: {} };
    op.requestBody.content ??= {};
    op.requestBody.content['application/json'] ??= { schema: { type: 'object' } };
    const json = op.requestBody.content['application/json'];
    json.examples = Object.fromEntries(Object.entries(examples).map(([summary, value]) => [summary.replace(/[^\w]+/g, '_'), { summary, value }]));
  }
  return doc;
}
