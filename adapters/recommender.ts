/**
 * The recommendation service (seeds 002/003): a session actor per customer in the store, fed by the
 * pipeline (entry, focus, exit from MQTT or the mock endpoints, focus from the local detector), and
 * its decisions logged and then published on the prediction topic.
 */
import { fromPromise, type Actor } from 'xstate';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { sessionMachine, type ScoreResult, type SessionEmitted, type FocusInput } from '../machines/session.ts';
import type { ActorRegistry } from '../actors/actor-registry.ts';
import { SessionHost, scoreFocus, fromValueOrPromise } from '../actors/session-host.ts';
import type { CouponCatalogue, CatalogueEntry } from '../actors/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../actors/store-data.ts';
import { ScoreRequest, type ScoreRequestT } from '../schemas/messages.ts';
import { fromFlat } from '../schemas/events.ts';
import type { RoleFactory, RoleHandle, RouteOptions } from './role.ts';
import { outputId, type IngestResult, type Output } from './pipeline.ts';
import { loadCatalogue, loadCustomers, loadCustomer } from './cache-store.ts';
import { sql } from './database.ts';
import { remoteScorer } from './remote-scorer.ts';
import { inProcessScorer } from './scorers.ts';
import { AppError } from './errors.ts';

export type SessionActor = Actor<typeof sessionMachine>;

export interface RecommenderHandle extends RoleHandle {
  sessions: ActorRegistry<typeof sessionMachine>;
  reload(): Promise<{ coupons: number; customers: number }>;
}

/** What a focus came to: the published payloads, or the reason there are none. */
export interface FocusOutcome { predictions: unknown[]; reason?: string }


export const recommenderRole: RoleFactory = async (ctx) => {
  const { config, metrics, pipeline } = ctx;
  const log = ctx.log.child({ role: 'recommender' });
  const db = ctx.database.db;
  const rc = config.recommender;
  let catalogue: CouponCatalogue = await loadCatalogue(db);
  let customers: Map<number, CustomerInfo> = await loadCustomers(db);
  const model = await inProcessScorer(rc.modelFile);
  const scorer: CouponScorer = rc.scorerUrl ? remoteScorer(rc.scorerUrl, rc.scorerTimeoutMs) : model;
  const broker = await ctx.connectBroker('recommender');
  log.info({ coupons: catalogue.size, customers: customers.size, scorer: rc.scorerUrl ? 'remote' : 'in-process' }, 'recommender ready');

  const m = {
    predictions: metrics.counter('storeflow_predictions_total', 'Coupons offered (logged and published)', ['department']),
    noPrediction: metrics.counter('storeflow_focus_without_prediction_total', 'Focus events that produced no prediction', ['reason']),
    unknown: metrics.counter('storeflow_unknown_customers_total', 'Sessions of customers missing from customer_info'),
    scorerFailures: metrics.counter('storeflow_scorer_failures_total', 'Scoring calls that failed or timed out'),
    sessions: metrics.gauge('storeflow_sessions', 'Live customer sessions'),
    latency: metrics.histogram('storeflow_focus_to_prediction_seconds', 'From a focus being logged to its prediction being published'),
  };

  const waiting = new Map<string, (o: FocusOutcome) => void>();
  /** Decisions already in the log, by focus input id, while live sessions are rebuilt at start. */
  const recovery = { recorded: new Map<string, ScoreResult>() };
  const focusLoggedAt = new Map<string, number>();
  // only HTTP callers wait for a focus's outcome; MQTT inputs are fire-and-forget
  const settle = (inputId: string, outcome: FocusOutcome) => {
    waiting.get(inputId)?.(outcome);
    waiting.delete(inputId);
    focusLoggedAt.delete(inputId);
  };

  const machine = sessionMachine.provide({
    actors: {
      loadCustomer: fromPromise<CustomerInfo | null, { customerId: string }>(async ({ input }) => {
        const id = Number(input.customerId);
        if (!Number.isSafeInteger(id)) return null;
        const known = customers.get(id);
        if (known) return known;
        const row = await loadCustomer(db, id);
        if (row) customers.set(id, row);
        return row;
      }),
      // the in-process model decides in the same step (no promise per focus); the remote scorer is awaited
      scoreCoupons: fromValueOrPromise<ScoreResult, { customer: CustomerInfo; focus: FocusInput; offered: number[] }>(({ input }) => {
        const recorded = recovery.recorded.get(input.focus.inputId);
        if (recorded) return recorded;
        const failed = (err: unknown): ScoreResult => {
          m.scorerFailures.inc();
          log.warn({ err: (err as Error).message, customer: input.customer.customer_id }, 'scoring failed; no prediction for this focus');
          return { reason: 'scorer_failed' };
        };
        try {
          const result = scoreFocus(catalogue, scorer, rc, input);
          return result instanceof Promise ? result.catch(failed) : result;
        } catch (err) {
          return failed(err);
        }
      }),
    },
  });

  /**
   * Decisions made in the same turn of the event loop are logged (and then published) together: one
   * append, one promise for many, in the order they were decided. `then` hears how the logging went.
   */
  let decided: Output[] = [];
  let afterLogged: ((err?: unknown) => void)[] = [];
  const flushDecisions = () => {
    const outputs = decided, thens = afterLogged;
    decided = [];
    afterLogged = [];
    pipeline.emit(outputs, broker).then(() => { for (const t of thens) t(); }, (err) => { for (const t of thens) t(err); });
  };
  const logDecision = (output: Output, then: (err?: unknown) => void) => {
    if (decided.length === 0) setImmediate(flushDecisions);
    decided.push(output);
    afterLogged.push(then);
  };

  const onDecision = (e: Extract<SessionEmitted, { type: 'decision' }>) => {
    const inputId = e.focus.inputId;
    // a decision rebuilt from the log during recovery is already logged (and was published)
    if (recovery.recorded.delete(inputId)) return;
    if (!('couponId' in e.result)) {
      const reason = e.result.reason;
      m.noPrediction.inc({ reason });
      // logged too (not published), so the log says what became of every focus
      return logDecision({
        streamId: `customer-${e.customerId}`, type: 'no_prediction', messageId: outputId(inputId, 'no_prediction'),
        data: noPredictionData(e.customerId, e.focus, reason), metadata: { cause: inputId },
      }, (err) => {
        if (err) log.error({ err }, 'could not log a decision');
        settle(inputId, { predictions: [], reason });
      });
    }
    const entry = catalogue.get(e.result.couponId);
    if (!entry) return settle(inputId, { predictions: [], reason: 'coupon_withdrawn' });
    const { payload, data } = renderPrediction(e.customerId, entry, e.result.score, e.focus.ts, config.messageFormat);
    logDecision({
      streamId: `customer-${e.customerId}`, type: 'prediction', data, messageId: outputId(inputId, 'prediction'),
      metadata: { cause: inputId }, publish: { topic: config.topics.prediction, payload },
    }, (err) => {
      if (err) {
        log.error({ err, customer: e.customerId }, 'could not log a prediction; not published');
        return settle(inputId, { predictions: [], reason: 'log_unavailable' });
      }
      m.predictions.inc({ department: entry.coupon.department });
      const t0 = focusLoggedAt.get(inputId);
      if (t0 !== undefined) m.latency.observe((performance.now() - t0) / 1000);
      if (waiting.has(inputId)) settle(inputId, { predictions: [JSON.parse(payload)] });
      else focusLoggedAt.delete(inputId);
    });
  };

  const host = new SessionHost({
    machine, idleTimeoutS: rc.idleTimeoutS, inspect: ctx.inspect,
    onEmitted: (e) => {
      if (e.type === 'decision') onDecision(e);
      else if (e.type === 'unknownCustomer') {
        m.unknown.inc();
        log.warn({ customer: e.customerId }, 'unknown customer: not in customer_info, no predictions for this visit');
      } else log.error({ customer: e.customerId, err: e.error }, 'could not load the customer context');
    },
    onCreated: () => m.sessions.inc(),
    onEnded: () => m.sessions.dec(),
    onError: (id, err) => log.error({ err, customer: id }, 'session failed'),
  });
  const sessions = host.sessions;

  pipeline.consume(['entry', 'focus', 'exit'], ({ logged, event }) => {
    const inputId = logged.messageId ?? `position-${logged.position}`;
    if (event.kind !== 'focus') {
      host.input(event, inputId);
      return { predictions: [], reason: `${event.kind} recorded` };
    }
    focusLoggedAt.set(inputId, performance.now());
    const outcome = logged.metadata.source === 'http' ? new Promise<FocusOutcome>((ok) => waiting.set(inputId, ok)) : undefined;
    host.input(event, inputId);
    return outcome;
  });

  // the log records the settings decisions depend on, so replay can use the same ones
  await ctx.eventLog.append([{
    streamId: 'process', type: 'recommender_started', metadata: { source: 'system' },
    data: { settings: { maxCoupons: rc.maxCoupons, threshold: rc.threshold, couponValidity: rc.couponValidity, idleTimeoutS: rc.idleTimeoutS }, scorer: rc.scorerUrl ? 'remote' : 'in-process', coupons: catalogue.size, customers: customers.size },
  }]);
  await recoverSessions();

  /**
   * Rebuild every live session (entered or focused, not exited, not idle) by replaying its stream
   * through a fresh machine. Focuses whose decision is in the log get that decision back without
   * publishing anything; a focus logged just before a crash with no decision yet is decided now.
   */
  async function recoverSessions() {
    const started = Date.now();
    // event time as the session host keeps it: the latest time at least two customers have reached, so
    // one customer far in the future does not make every other session look idle (numeric: a value
    // an older version let into the log never stops a start)
    const leaders = await db.query(sql`
      SELECT max((data->>'ts')::numeric) AS max_ts FROM events
      WHERE type IN ('entry', 'focus', 'exit') AND stream_id LIKE 'customer-%'
      GROUP BY stream_id ORDER BY 1 DESC LIMIT 2`);
    if (leaders.length === 0) return;
    const eventTime = Number(leaders[leaders.length - 1].max_ts);
    const live = await db.query(sql`
      SELECT stream_id FROM events WHERE type IN ('entry', 'focus', 'exit') AND stream_id LIKE 'customer-%'
      GROUP BY stream_id
      HAVING coalesce(max(position) FILTER (WHERE type = 'exit'), 0) < max(position) FILTER (WHERE type IN ('entry', 'focus'))
         AND max((data->>'ts')::numeric) > ${eventTime - rc.idleTimeoutS}`);
    if (live.length === 0) return;
    const streams = live.map((r) => r.stream_id as string);
    const events = await db.query(sql`
      SELECT position, stream_id, type, data, message_id FROM events
      WHERE stream_id = ANY(${streams}::text[]) AND type IN ('entry', 'focus', 'exit', 'prediction', 'no_prediction')
        AND position > coalesce((SELECT max(position) FROM events x WHERE x.stream_id = events.stream_id AND x.type = 'exit'), 0)
      ORDER BY position`);
    for (const e of events) {
      if (e.type === 'prediction') recovery.recorded.set(String(e.message_id).replace(/:prediction$/, ''), { couponId: e.data.coupon.id, score: e.data.score });
      else if (e.type === 'no_prediction') recovery.recorded.set(String(e.message_id).replace(/:no_prediction$/, ''), { reason: e.data.reason });
    }
    let inputs = 0;
    for (const e of events) {
      if (e.type === 'prediction' || e.type === 'no_prediction') continue;
      const event = fromFlat(e.type, e.data);
      if (!event) continue;
      inputs++;
      host.input(event, e.message_id ?? `position-${e.position}`);
    }
    // let the rebuilt sessions work through their queues before live inputs arrive
    for (let i = 0; i < 400 && host.busy(); i++) await new Promise((r) => setTimeout(r, 5));
    log.info({ sessions: streams.length, inputs, ms: Date.now() - started }, 'live sessions recovered from the event log');
  }

  const reload = async () => {
    [catalogue, customers] = await Promise.all([loadCatalogue(db), loadCustomers(db)]);
    log.info({ coupons: catalogue.size, customers: customers.size }, 'catalogue reloaded');
    return { coupons: catalogue.size, customers: customers.size };
  };

  const routes: FastifyPluginAsync<RouteOptions> = async (app) => {
    const reply = (r: IngestResult) => {
      if (r.status === 'rejected') throw new AppError(r.code, r.reason);
      if (r.status === 'duplicate') return { predictions: [], reason: 'duplicate of an input already processed' };
      const outcome = r.results.find((x) => x && typeof x === 'object' && 'predictions' in (x as object)) as FocusOutcome | undefined;
      return outcome ?? { predictions: [], reason: 'no recommender consumed this input' };
    };
    const body = { description: 'Flat `{"id","ts"[,"dep"]}` or envelope `{"event_type","event_timestamp","payload"}` (seed 002)' };
    app.post('/mock_entry', { schema: { ...body, summary: 'Entry event as if from the entry topic' } }, async (req) => reply(await pipeline.ingest('entry', req.body ?? '', { source: 'http' })));
    app.post('/mock_focus', { schema: { ...body, summary: 'Focus event as if from the focus topic; answers with the resulting prediction(s)' } }, async (req) => reply(await pipeline.ingest('focus', req.body ?? '', { source: 'http' })));
    app.get('/sessions', { schema: { summary: 'Live sessions' } }, async () => ({
      sessions: sessions.ids().map((id) => describeSession(sessions.get(id)!, false)),
    }));
    app.get<{ Params: { id: string } }>('/sessions/:id', { schema: { summary: 'One live session: state, customer, path, offered coupons' } }, async (req) => {
      const actor = sessions.get(req.params.id);
      if (!actor) throw new AppError('not_found', `no live session for customer ${req.params.id}`);
      return describeSession(actor, true);
    });
    app.post('/reload', { schema: { summary: 'Reload the coupon catalogue and customers from the cache DB' } }, async () => reload());
    app.post<{ Body: ScoreRequestT }>('/score', { schema: { summary: 'Original prediction service protocol, scored by storeflow\'s model', body: ScoreRequest } }, async (req) => {
      const { customer, coupons } = req.body;
      const c = { ...customer, customer_id: Number(customer.customer_id) } as CustomerInfo;
      const scores = await model.score(c, coupons.map((k) => ({ ...k, coupon_id: Number(k.coupon_id) })) as any);
      return coupons.map((k, i) => ({ coupon_id: String(k.coupon_id), customer_id: String(customer.customer_id), prediction: scores[i] }))
        .sort((a, b) => b.prediction - a.prediction);
    });
  };

  const handle: RecommenderHandle = {
    sessions, reload, routes,
    async stop() {
      sessions.stopAll();
      for (const id of [...waiting.keys()]) settle(id, { predictions: [], reason: 'shutting down' });
    },
  };
  return handle;
};

/** The published payload (flat seed 002, or envelope seed 003) and the compact record kept in the log. */
export function renderPrediction(customerId: string, entry: CatalogueEntry, score: number, ts: number, format: 'flat' | 'envelope') {
  const c = entry.coupon;
  const payload = format === 'envelope'
    ? JSON.stringify({ event_type: 'prediction result', event_timestamp: new Date(ts * 1000).toISOString(), payload: { customer_id: Number(customerId), coupon_id: c.coupon_id, prediction: round(score) } })
    : `{"customer":{"id":${JSON.stringify(customerId)}},"coupon":${entry.json},"ts":${Math.floor(ts)}}`;
  const data = {
    customer_id: customerId, ts: Math.floor(ts), score: round(score),
    coupon: { id: c.coupon_id, type: c.coupon_type, department: c.department, discount: Number(c.discount), how_many: entry.howMany, start_date: c.start_date, end_date: c.end_date, products_count: entry.productCount },
  };
  return { payload, data };
}

/** The log record of a focus that got no coupon, and why (live and replay write the same). */
export function noPredictionData(customerId: string, focus: FocusInput, reason: string) {
  return { customer_id: customerId, ts: focus.ts, dep: focus.dep, reason };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function describeSession(actor: SessionActor, full: boolean) {
  const s = actor.getSnapshot();
  const c = s.context;
  const base = { customer_id: c.customerId, state: s.value, known_customer: c.customer === undefined ? null : c.customer !== null, offered: c.offered, last_ts: c.lastTs };
  return full ? { ...base, customer: c.customer ?? null, path: c.path, pending_focus: c.pending.length } : base;
}
