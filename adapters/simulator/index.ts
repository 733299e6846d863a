/**
 * The customer simulator role (seed 001): a traffic generator. It runs a CustomerSimulation in real
 * time (simulated time = start + elapsed × SIM_SPEED), checks the timeline every CONSUME_FREQUENCY
 * seconds and publishes what is due (at most CONSUME_BATCH_SIZE) to ENTER/MOVE/EXIT_TOPIC with the
 * seed payloads. Like the original, it is an external producer: it does not write the event log —
 * the input pipeline of whichever process consumes those topics does. Under TESTING_MOCK_MQTT /
 * TESTING_NO_MQTT the broker stand-in logs each publication, and the event goes to the local
 * pipeline when a local role (detector, recommender) consumes it. Its routes are routes.ts; who shops,
 * shoppers.ts; what shoppers do with the coupons they are offered, redemptions.ts.
 */
import type { RoleFactory, RoleHandle } from '../process/role.ts';
import type { TransportClient } from '../edges/transport.ts';
import { CustomerSimulation, type ShopperView } from './simulation.ts';
import { listenForOffers } from './redemptions.ts';
import { loadShoppers } from './shoppers.ts';
import { simulatorRoutes, type SimulatorSettings } from './routes.ts';
import type { CouponCatalogue } from '../../actors/recommender/coupon-catalogue.ts';
import { Timeline, payloadOf, type StalePolicy, type TimelineEvent } from '../../actors/simulator/timeline.ts';
import { stateAt, type KnownPosition } from '../../actors/simulator/state-at.ts';
import { departmentAt } from '../../actors/data/store-plan.ts';
import { isoToSeconds } from '../../schemas/normalise.ts';
import type { EventKind } from '../../schemas/events.ts';

export type { SimulatorSettings };

export interface SimulatorHandle extends RoleHandle {
  /** started = the timeline is being consumed. */
  readonly running: boolean;
  readonly timeline: Timeline;
  simulation(): CustomerSimulation | undefined;
  startSimulation(): void;
  stopSimulation(): void;
  settings(s: SimulatorSettings): SimulatorSettings;
  customerSource: 'file' | 'database' | 'default';
}

export const simulatorRole: RoleFactory = async (ctx) => {
  const { config, metrics } = ctx;
  const sc = config.simulator;
  const log = ctx.log.child({ role: 'simulator' });
  const loaded = await loadShoppers(
    sc.customersFile,
    async () =>
      [...(await ctx.storeData.customers()).values()]
        .sort((a, b) => a.customer_id - b.customer_id)
        .map(({ customer_id, gender, age }) => ({ customer_id, gender, age })),
    config.seed,
  );
  const broker: TransportClient = await ctx.connectBroker('simulator');
  const localConsumers = config.transport === 'none' && ctx.roles.some((r) => r === 'detector' || r === 'recommender');
  if (sc.storeHeight !== 10 || sc.storeWidth !== 6)
    log.warn(
      { STORE_HEIGHT: sc.storeHeight, STORE_WIDTH: sc.storeWidth },
      'STORE_HEIGHT/STORE_WIDTH are accepted for compatibility and ignored: the store plan is 1808 × 1315 units',
    );
  log.info({ customers: loaded.customers.length, source: loaded.source }, 'simulator customers loaded');

  const m = {
    published: metrics.counter('storeflow_simulator_events_total', 'Timeline events published by the simulator', ['kind']),
    dropped: metrics.counter('storeflow_simulator_stale_dropped_total', 'Stale moves dropped (STALE_EVENTS=drop)'),
    skipped: metrics.counter('storeflow_simulator_skipped_total', 'Timeline events before CONSUME_FROM, skipped at start'),
    failures: metrics.counter('storeflow_simulator_publish_failures_total', 'Publications that failed'),
    shoppers: metrics.gauge('storeflow_simulator_shoppers', 'Simulated shoppers in the store'),
    lag: metrics.gauge('storeflow_simulator_lag_seconds', 'How late the oldest due timeline event is (simulated seconds)'),
    offers: metrics.counter(
      'storeflow_simulator_offers_total',
      'Predictions heard by the simulator, by what the shopper did (redeemed, declined, not_in_store, …)',
      ['outcome'],
    ),
  };

  const settings = {
    speed: sc.speed,
    averageInStore: sc.averageInStore,
    batchSize: sc.batchSize,
    consumeFrequencyS: sc.consumeFrequencyS,
    staleEvents: sc.staleEvents as StalePolicy,
  };
  const timeline = new Timeline();
  let sim: CustomerSimulation | undefined;
  let timer: NodeJS.Timeout | undefined;
  let simBase = 0,
    realBase = 0;
  let running = false;
  let lagWarned = false;
  /** Customers of scenarios and /produce_*: last published position, until their exit. */
  const others = new Map<string, { x: number; y: number; ts: number; source: string }>();

  const simNow = () => (running ? simBase + (performance.now() - realBase) * settings.speed : (sim?.clock.now() ?? Date.now()));
  const topicOf = (kind: 'entry' | 'move' | 'exit') => (kind === 'entry' ? config.topics.enter : kind === 'move' ? config.topics.move : config.topics.exit);

  const publish = async (kind: 'entry' | 'move' | 'exit', payload: object) => {
    const text = JSON.stringify(payload);
    await broker.publish(topicOf(kind), text);
    m.published.inc({ kind });
    if (localConsumers) await ctx.pipeline.ingest(kind as EventKind, text, { source: 'http' });
  };

  const publishEvents = (events: TimelineEvent[]) => {
    for (const e of events) {
      if (e.source === 'scenario') {
        if (e.kind === 'exit') others.delete(e.id);
        else others.set(e.id, { x: e.x, y: e.y, ts: Math.floor(e.at / 1000), source: 'scenario' });
      }
      publish(e.kind, payloadOf(e)).catch((err) => {
        m.failures.inc();
        log.warn({ err: (err as Error).message, kind: e.kind, customer: e.id }, 'simulator publication failed');
      });
    }
  };

  const check = () => {
    if (!sim) return;
    const now = simNow();
    try {
      const r = sim.check(now, settings.batchSize, settings.staleEvents);
      if (r.dropped) m.dropped.inc(r.dropped);
      publishEvents(r.events);
      m.shoppers.set(sim.registry.size);
      const { lagMs } = timeline.backlog(now);
      m.lag.set(lagMs / 1000);
      if (lagMs > 60_000 && !lagWarned) {
        lagWarned = true;
        log.warn(
          { lagSeconds: Math.round(lagMs / 1000), batchSize: settings.batchSize, consumeFrequency: settings.consumeFrequencyS },
          'the timeline falls behind: raise CONSUME_BATCH_SIZE, lower CONSUME_FREQUENCY, or set STALE_EVENTS=drop',
        );
      } else if (lagMs < 10_000) lagWarned = false;
    } catch (err) {
      log.error({ err }, 'timeline check failed');
    }
  };

  const armTimer = () => {
    if (timer) clearInterval(timer);
    timer = running ? setInterval(check, Math.max(1, settings.consumeFrequencyS * 1000)) : undefined;
  };

  /** Where simulated time starts (CONSUME_FROM): now (latest, earliest) or an ISO time. */
  const startPoint = (): number => {
    const from = sc.consumeFrom;
    if (from === 'latest' || from === 'earliest') return Date.now();
    return isoToSeconds(from) * 1000;
  };

  const startSimulation = () => {
    if (running) return;
    if (!sim) {
      const start = startPoint();
      if (sc.consumeFrom !== 'earliest') {
        const n = timeline.skipBefore(start);
        if (n) {
          m.skipped.inc(n);
          log.info({ skipped: n, consumeFrom: sc.consumeFrom }, 'timeline events before CONSUME_FROM skipped');
        }
      } else {
        // earliest, as the original's loop: what is already due is published at once, oldest first
        const due = timeline.take(start, Infinity).events;
        if (due.length) {
          publishEvents(due);
          log.info({ published: due.length }, 'CONSUME_FROM=earliest: events already due published at once');
        }
      }
      sim = new CustomerSimulation({
        seed: config.seed,
        customers: loaded.customers,
        averageInStore: settings.averageInStore,
        startMs: start,
        warmStart: true,
        timeline,
        onError: (id, err) => log.error({ err, customer: id }, 'shopper failed'),
      });
      sim.openDoors();
      simBase = start;
      log.info(
        {
          start: new Date(start).toISOString(),
          speed: settings.speed,
          averageInStore: settings.averageInStore,
          meanVisitS: Math.round(sim.meanVisitMs / 1000),
        },
        'simulator started',
      );
    } else {
      // resuming: under CONSUME_FROM=latest simulated time jumps to now (the pause is skipped)
      if (sc.consumeFrom === 'latest' && Date.now() > sim.clock.now()) sim.shift(Date.now() - sim.clock.now());
      simBase = sim.clock.now();
      log.info({ at: new Date(simBase).toISOString() }, 'simulator resumed');
    }
    realBase = performance.now();
    running = true;
    armTimer();
  };

  const stopSimulation = () => {
    if (!running) return;
    const now = simNow();
    running = false;
    armTimer();
    sim?.clock.advanceTo(now);
    log.info('simulator stopped (paused: shoppers keep their places)');
  };

  const applySettings = (s: SimulatorSettings) => {
    if (s.speed !== undefined && s.speed !== settings.speed) {
      simBase = simNow();
      realBase = performance.now();
      settings.speed = s.speed;
    }
    if (s.averageInStore !== undefined) {
      settings.averageInStore = s.averageInStore;
      sim?.setAverage(s.averageInStore);
    }
    if (s.batchSize !== undefined) settings.batchSize = s.batchSize;
    if (s.staleEvents !== undefined) settings.staleEvents = s.staleEvents;
    if (s.consumeFrequencyS !== undefined) {
      settings.consumeFrequencyS = s.consumeFrequencyS;
      armTimer();
    }
    return { ...settings };
  };

  const stateView = () => {
    const now = simNow();
    const shoppers: (ShopperView & { source: string; ts?: number })[] = (sim?.shoppers() ?? []).map((s) => ({ ...s, source: 'simulator' }));
    for (const [id, o] of others)
      shoppers.push({ id, state: o.source, x: o.x, y: o.y, department: departmentAt(o) ?? null, moves: 0, source: o.source, ts: o.ts });
    const backlog = timeline.backlog(now);
    return {
      state: running ? 'started' : 'stopped',
      simulatedTime: new Date(now).toISOString(),
      settings: { ...settings, consumeFrom: sc.consumeFrom },
      customerSource: loaded.source,
      inStore: shoppers.length,
      timeline: { scheduled: timeline.size, due: backlog.due, lagSeconds: Math.round(backlog.lagMs / 1000) },
      stats: sim?.stats ?? null,
      customers: shoppers,
    };
  };

  /** The customers' states at `at`: the simulated shoppers where they are now, the others where they were last seen. */
  const statesAt = (at: number) => {
    const now = simNow();
    const known: KnownPosition[] = (sim?.shoppers() ?? []).map((s) => ({ id: s.id, x: s.x, y: s.y, at: now }));
    for (const [id, o] of others) known.push({ id, x: o.x, y: o.y, at: o.ts * 1000 });
    return stateAt(known, timeline.dueBy(at), at);
  };

  const routes = simulatorRoutes({
    simNow,
    running: () => running,
    timeline,
    settings,
    consumeFrom: sc.consumeFrom,
    applySettings,
    startSimulation,
    stopSimulation,
    state: stateView,
    statesAt,
    publish,
    topicOf,
    produced: (kind, body) => {
      const id = String(body.id);
      if (kind === 'exit') others.delete(id);
      else if (kind === 'move' && body.x !== undefined && body.y !== undefined) others.set(id, { x: body.x, y: body.y, ts: body.ts, source: 'produce' });
    },
    maxPayloadBytes: config.maxPayloadBytes,
  });

  // shoppers use the coupons they are offered (issue 23): adapters/simulator/redemptions.ts
  const profiles = new Map(loaded.customers.map((c) => [c.customerId, c]));
  let catalogue: Promise<CouponCatalogue> | undefined;
  await listenForOffers(
    broker,
    config.topics.prediction,
    {
      seed: config.seed,
      shopper: (id) => (sim?.registry.has(id) ? profiles.get(id) : undefined),
      coupon: async (id) => {
        catalogue ??= ctx.storeData.catalogue().catch((err) => {
          catalogue = undefined;
          throw err;
        });
        const entry = (await catalogue).get(id);
        return entry ? JSON.parse(entry.json) : undefined;
      },
      publish: (r) => broker.publish(config.topics.redemption, JSON.stringify(r)),
    },
    (outcome, err) => {
      m.offers.inc({ outcome });
      if (err) log.warn({ err: (err as Error).message }, 'a redemption could not be published');
    },
  );

  const handle: SimulatorHandle = {
    routes,
    get running() {
      return running;
    },
    timeline,
    simulation: () => sim,
    startSimulation,
    stopSimulation,
    settings: applySettings,
    customerSource: loaded.source,
    async start() {
      if (sc.autoStart) startSimulation();
    },
    async stop() {
      running = false;
      if (timer) clearInterval(timer);
      timer = undefined;
      sim?.close();
    },
  };
  return handle;
};
