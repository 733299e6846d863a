/**
 * The recommendation service role (seeds 002/003): its processor registered with the pipeline (entry,
 * focus, exit in from MQTT, the mock endpoints or a detector here; decisions out, logged, then
 * published on the prediction topic), the store data it reads, its metrics, recovery and routes.
 */
import type { sessionMachine } from '../../machines/session.ts';
import type { ActorRegistry } from '../../actors/kernel/actor-registry.ts';
import type { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import type { CouponScorer, CustomerInfo } from '../../actors/data/store-data.ts';
import type { RoleFactory, RoleHandle } from '../process/role.ts';
import { remoteScorer } from '../edges/remote-scorer.ts';
import { inProcessScorer } from '../edges/scorers.ts';
import { RecommenderProcessor } from './processor.ts';
import { SESSION_MACHINE } from './session-snapshot.ts';
import { SnapshotCadence } from '../engine/snapshot-cadence.ts';
import { loggedInputId } from '../process/processor-contract.ts';
import { recoverSessions } from './recovery.ts';
import { spentFromLog } from './budget-spent.ts';
import { recommenderRoutes } from './routes.ts';
import { redemptionLog } from './redemptions.ts';
import { couponDatesWarning } from '../../actors/recommender/coupon-validity.ts';
import { customerTableVersion } from '../../actors/data/customer-table.ts';
import { catalogueMargin, createUpliftScorer, loadUpliftModel } from '../../actors/recommender/uplift-model.ts';

export { renderPrediction, noPredictionData } from './decision-record.ts';

export interface RecommenderHandle extends RoleHandle {
  sessions: ActorRegistry<typeof sessionMachine>;
  reload(): Promise<{ coupons: number; customers: number }>;
}

export const recommenderRole: RoleFactory = async (ctx) => {
  const { config, metrics, pipeline } = ctx;
  const log = ctx.log.child({ role: 'recommender' });
  const store = ctx.storeData;
  const rc = config.recommender;
  let catalogue: CouponCatalogue = await store.catalogue();
  let customers: Map<number, CustomerInfo> = await store.customers();
  const model = await inProcessScorer(rc.modelFile);
  // POLICY=uplift: expected incremental margins over the catalogue in memory (its margins at the default rate)
  const uplift =
    rc.policy === 'uplift' ? createUpliftScorer(loadUpliftModel(rc.upliftModelFile || undefined), (id) => catalogueMargin(catalogue, id)) : undefined;
  const scorer: CouponScorer = rc.scorerUrl ? remoteScorer(rc.scorerUrl, rc.scorerTimeoutMs) : (uplift ?? model);
  log.info({ coupons: catalogue.size, customers: customers.size, scorer: rc.scorerUrl ? 'remote' : 'in-process' }, 'recommender ready');
  const warnCouponDates = () => {
    const w = couponDatesWarning(catalogue, rc.couponValidity, Date.now());
    if (w) log.warn({ COUPON_VALIDITY: rc.couponValidity, couponValidity: w.window }, w.message);
  };
  warnCouponDates();

  const m = {
    predictions: metrics.counter('storeflow_predictions_total', 'Coupons offered (logged and published)', ['department']),
    noPrediction: metrics.counter('storeflow_focus_without_prediction_total', 'Focus events that produced no prediction', ['reason']),
    unknown: metrics.counter('storeflow_unknown_customers_total', 'Sessions of customers missing from customer_info'),
    scorerFailures: metrics.counter('storeflow_scorer_failures_total', 'Scoring calls that failed or timed out'),
    sessions: metrics.gauge('storeflow_sessions', 'Live customer sessions'),
    latency: metrics.histogram('storeflow_focus_to_prediction_seconds', 'From a focus being logged to its prediction being published'),
    rebuilt: metrics.counter(
      'storeflow_sessions_rebuilt_total',
      'Sessions made again from the log: a customer this process had not followed (unfollowed), a decision another writer got ahead of (conflict) or made already (duplicate)',
      ['why'],
    ),
  };

  const settings = {
    maxCoupons: rc.maxCoupons,
    threshold: uplift ? rc.minExpectedMargin : rc.threshold,
    couponValidity: rc.couponValidity,
    idleTimeoutS: rc.idleTimeoutS,
    // logged only where they are not the defaults, so the start record of the default policy is what it was
    ...(uplift ? { policy: 'uplift' as const } : {}),
    ...(rc.explorationRate > 0 ? { explorationRate: rc.explorationRate } : {}),
    ...(rc.discountBudget > 0 ? { discountBudget: rc.discountBudget } : {}),
  };
  // sessions snapshotted beside the log, every so many inputs, written after the commits they follow (docs/snapshots.md)
  const snapshots =
    ctx.eventLog.snapshots &&
    new SnapshotCadence({
      store: ctx.eventLog.snapshots,
      machine: SESSION_MACHINE,
      onError: (err) => log.warn({ err }, 'could not write session snapshots (a restart reads more of the log)'),
    });
  const processor = new RecommenderProcessor({
    snapshots,
    catalogue: () => catalogue,
    // customers are in memory; one missing is looked up (it may have been added since the last reload)
    customer: (id) =>
      customers.get(id) ??
      store.customer(id).then((row) => {
        if (row) customers.set(id, row);
        return row;
      }),
    scorer: () => scorer,
    settings: () => settings,
    topic: config.topics.prediction,
    format: config.messageFormat,
    inspect: ctx.inspect,
    onScorerFailure: (customer, err) => {
      m.scorerFailures.inc();
      log.warn({ err: (err as Error)?.message, customer }, 'scoring failed; no prediction for this focus');
    },
    onUnknownCustomer: (customer) => {
      m.unknown.inc();
      log.warn({ customer }, 'unknown customer: not in customer_info, no predictions for this visit');
    },
    onContextFailed: (customer, error) => log.error({ customer, err: error }, 'could not load the customer context'),
    onCreated: () => m.sessions.inc(),
    onEnded: () => m.sessions.dec(),
    onError: (id, err) => log.error({ err, customer: id }, 'session failed'),
    // any number of processes may share this database: a session is a cache of its customer's stream
    shared: {
      log: ctx.eventLog,
      localFocus: pipeline.handOffLocally && config.roles.includes('detector'),
      onRebuilt: (why) => m.rebuilt.inc({ why }),
    },
  });

  // the store data decisions read from here on, named by content (docs/replay-provenance.md)
  const storeData = () => ({
    coupons: catalogue.size,
    catalogue: catalogue.version,
    customers: customers.size,
    customerTable: customerTableVersion(customers.values()),
  });
  // the log records the settings, the model and the store data decisions depend on, so replay can use the same ones
  await ctx.eventLog.append([
    {
      streamId: 'process',
      type: 'recommender_started',
      metadata: { source: 'system' },
      data: { settings, scorer: rc.scorerUrl ? 'remote' : 'in-process', ...(rc.scorerUrl ? {} : { model: model.version }), ...storeData() },
    },
  ]);

  pipeline.register({
    processor,
    name: 'recommender',
    onLogged: (outputs, input, ms) => {
      // a snapshot taken after the input is written once its outputs are logged
      snapshots?.logged(loggedInputId(input.logged), outputs.length, input.logged.version);
      for (const o of outputs) {
        if (o.type === 'prediction') {
          m.predictions.inc({ department: (o.data as { coupon: { department: string } }).coupon.department });
          m.latency.observe(ms / 1000);
        } else if (o.type === 'no_prediction') m.noPrediction.inc({ reason: (o.data as { reason: string }).reason });
      }
    },
    async recover() {
      const started = Date.now();
      const localFocus = pipeline.handOffLocally && config.roles.includes('detector');
      // the day's discount budget spent before this start stays spent (before any focus is decided again)
      if (rc.discountBudget > 0) await spentFromLog(ctx.eventLog, processor.budget, rc.discountBudgetShare);
      const recovery = await recoverSessions(ctx.eventLog, processor, { idleTimeoutS: rc.idleTimeoutS, localFocus });
      if (recovery.ignored)
        log.warn(
          { sessions: recovery.ignored, machineVersion: processor.machine.version },
          'snapshots of another session machine version ignored: those sessions are made from their events',
        );
      if (recovery.sessions)
        log.info(
          {
            sessions: recovery.sessions,
            fromSnapshots: recovery.restored,
            deferred: recovery.deferred,
            inputs: recovery.inputs.length,
            ms: Date.now() - started,
          },
          'live sessions recovered from the event log',
        );
      // the deferred sessions made between inputs from now on (an input, or the idle clock, makes its own first)
      if (recovery.deferred) void processor.wakeDeferred().then((made) => log.info({ sessions: made, ms: Date.now() - started }, 'deferred sessions made'));
      return recovery;
    },
  });

  // the simulator's shoppers redeeming what was offered: logged in their streams (adapters/recommender/redemptions.ts)
  pipeline.register(redemptionLog(metrics));

  // reloads asked for while one is under way share it (each reads the whole catalogue: ~100 ms)
  let reloading: Promise<{ coupons: number; customers: number }> | undefined;
  const reload = () =>
    (reloading ??= (async () => {
      try {
        [catalogue, customers] = await Promise.all([store.catalogue(), store.customers()]);
        log.info({ coupons: catalogue.size, customers: customers.size, catalogue: catalogue.version }, 'catalogue reloaded');
        // decisions from now on render their coupons from this catalogue and read these customers: the log says which
        await ctx.eventLog
          .append([{ streamId: 'process', type: 'catalogue_loaded', metadata: { source: 'system' }, data: storeData() }])
          .catch((err) => log.warn({ err }, 'could not log the catalogue reloaded: a replay of what follows cannot tell which catalogue it used'));
        warnCouponDates();
        return { coupons: catalogue.size, customers: customers.size };
      } finally {
        reloading = undefined;
      }
    })());

  const handle: RecommenderHandle = {
    sessions: processor.sessions,
    reload,
    routes: recommenderRoutes({ pipeline, sessions: processor.sessions, reload, model }),
    async stop() {
      processor.stop();
      await snapshots?.flush();
      // a clean stop: the next start need not publish the last predictions again
      await ctx.eventLog
        .append([{ streamId: 'process', type: 'recommender_stopped', metadata: { source: 'system' }, data: {} }])
        .catch((err) => log.warn({ err }, 'could not log the stop'));
    },
  };
  return handle;
};
