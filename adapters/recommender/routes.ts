/** The recommender's routes (seed 002): the mock endpoints, live sessions, reload, and the original scorer's protocol. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Actor } from 'xstate';
import type { sessionMachine } from '../../machines/session.ts';
import type { ActorRegistry } from '../../actors/kernel/actor-registry.ts';
import type { CouponInfo, CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import { must } from '../../actors/kernel/must.ts';
import { ScoreRequest } from '../../schemas/messages.ts';
import type { RouteOptions } from '../process/role.ts';
import type { Pipeline } from '../process/pipeline.ts';
import type { IngestResult } from '../process/processor-contract.ts';
import { AppError } from '../process/errors.ts';

/** What a focus came to: the published payloads, or the reason there are none. */
export interface FocusOutcome {
  predictions: unknown[];
  reason?: string;
  coupon_validity?: { from: string; to: string } | null;
  hint?: string;
}

export interface RecommenderRouteDeps {
  pipeline: Pipeline;
  sessions: ActorRegistry<typeof sessionMachine>;
  reload(): Promise<{ coupons: number; customers: number }>;
  model: CouponScorer;
}

/** The answer of a mock endpoint: the predictions the input caused, once logged and published. */
export async function outcomeOf(r: IngestResult): Promise<FocusOutcome> {
  if (r.status === 'rejected') throw new AppError(r.code, r.reason);
  if (r.status === 'duplicate') return { predictions: [], reason: 'duplicate of an input already processed' };
  if (r.event.kind !== 'focus') return { predictions: [], reason: `${r.event.kind} recorded` };
  const outputs = await r.outputs;
  const predictions = outputs.flatMap((o) => (o.type === 'prediction' && o.publish ? [JSON.parse(o.publish.payload)] : []));
  if (predictions.length) return { predictions };
  const none = outputs.find((o) => o.type === 'no_prediction');
  if (!none) return { predictions: [], reason: 'no recommender consumed this input' };
  // no_valid_coupons carries the department's coupon dates and what to do about them
  const { reason, coupon_validity, hint } = none.data as FocusOutcome & { reason: string };
  return { predictions: [], reason, ...(hint ? { coupon_validity, hint } : {}) };
}

export function recommenderRoutes(d: RecommenderRouteDeps): FastifyPluginAsyncTypebox<RouteOptions> {
  return async (app) => {
    const tags = ['recommender'];
    const body = { tags, description: 'Flat `{"id","ts"[,"dep"]}` or envelope `{"event_type","event_timestamp","payload"}` (seed 002)' };
    app.post('/mock_entry', { schema: { ...body, summary: 'Entry event as if from the entry topic' } }, async (req) =>
      outcomeOf(await d.pipeline.ingest('entry', (req.body as object | string | undefined) ?? '', { source: 'http' })),
    );
    app.post('/mock_focus', { schema: { ...body, summary: 'Focus event as if from the focus topic; answers with the resulting prediction(s)' } }, async (req) =>
      outcomeOf(await d.pipeline.ingest('focus', (req.body as object | string | undefined) ?? '', { source: 'http' })),
    );
    app.get('/sessions', { schema: { tags, summary: 'Live sessions' } }, async () => ({
      sessions: d.sessions.ids().map((id) => describeSession(must(d.sessions.get(id), `session ${id}`), false)),
    }));
    app.get(
      '/sessions/:id',
      { schema: { tags, summary: 'One live session: state, customer, path, offered coupons', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } },
      async (req) => {
        const actor = d.sessions.get(req.params.id);
        if (!actor) throw new AppError('not_found', `no live session for customer ${req.params.id}`);
        return describeSession(actor, true);
      },
    );
    app.post('/reload', { schema: { tags, summary: 'Reload the coupon catalogue and customers from the cache DB' } }, async () => d.reload());
    app.post('/score', { schema: { tags, summary: "Original prediction service protocol, scored by storeflow's model", body: ScoreRequest } }, async (req) => {
      const { customer, coupons } = req.body;
      const c = { ...customer, customer_id: Number(customer.customer_id) } as CustomerInfo;
      const scores = await d.model.score(c, coupons.map((k) => ({ ...k, coupon_id: Number(k.coupon_id) })) as CouponInfo[]);
      return coupons
        .map((k, i) => ({ coupon_id: String(k.coupon_id), customer_id: String(customer.customer_id), prediction: scores[i] }))
        .sort((a, b) => b.prediction - a.prediction);
    });
  };
}

function describeSession(actor: Actor<typeof sessionMachine>, full: boolean) {
  const s = actor.getSnapshot();
  const c = s.context;
  const base = {
    customer_id: c.customerId,
    state: s.value,
    known_customer: c.customer === undefined ? null : c.customer !== null,
    offered: c.offered,
    last_ts: c.lastTs,
  };
  return full ? { ...base, customer: c.customer ?? null, path: c.path, pending_focus: c.pending.length } : base;
}
