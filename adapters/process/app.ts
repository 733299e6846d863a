/**
 * Composes one storeflow process: infrastructure, database and migrations, the event log, the
 * roles of ROLES, and the control plane. Used by scripts/start.ts and by tests (in-process).
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Config, Role } from '../../schemas/env.ts';
import { SECRET_VARIABLES } from '../../schemas/env.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startInfrastructure, type Infrastructure } from './infrastructure.ts';
import type { Database } from '../edges/database.ts';
import type { PostgresEventLog } from '../edges/postgres-event-log.ts';
import type { Transport, TransportClient } from '../edges/transport.ts';
import type { connectKafka } from '../edges/kafka.ts';
import { pickTransport } from './transports.ts';
import { Tracing } from './tracing.ts';
import { Pipeline } from './pipeline.ts';
import { buildControlPlane, type ReadinessCheck } from './http.ts';
import type { RoleContext, RoleFactory, RoleHandle } from './role.ts';
import { ROLE_FACTORIES } from './roles.ts';
import { localAddress } from '../edges/ports.ts';
import { accessFrom } from './access.ts';
import { abortable, mutableLog, StartAborted } from './start-abort.ts';
import { openMemory, openPostgres, type MemoryStorage, type Opening, type PostgresStorage, type Storage } from './storage.ts';
import { tryCommands } from './try-commands.ts';

/** A running process, whatever its storage. */
export interface Running {
  config: Config;
  http: FastifyInstance;
  url: string;
  infrastructure: Infrastructure;
  metrics: Metrics;
  pipeline: Pipeline;
  roles: Map<Role, RoleHandle>;
  stop(): Promise<void>;
}

/** A process on PostgreSQL. */
export interface Storeflow extends Running {
  database: Database;
  eventLog: PostgresEventLog;
}

/** A process on the in-memory event log: no database. */
export interface StoreflowInMemory extends Running {
  eventLog: MemoryStorage['eventLog'];
}

/** How long one part may take to stop before the rest is stopped regardless (npm start gives up after 15 s in all). */
const PART_STOP_MS = 4000;

export interface StartOptions {
  /** Replace role factories (tests). */
  factories?: Partial<Record<Role, RoleFactory>>;
  /** Listen on this port instead of config.port (0 = free). */
  port?: number;
  webDir?: string | false;
  /** Connects to Kafka instead of @platformatic/kafka's client (bench:recommender's --kafka-client kafkajs). */
  connectKafka?: typeof connectKafka;
  /** Something storeflow cannot go on with (its MQTT session taken over); default: log it and stop. */
  onFatal?: (err: Error) => void;
  /**
   * Aborts the start-up (Ctrl-C while starting): no further part starts, what has started is stopped, a part
   * still starting is stopped once it has, its log lines dropped; startStoreflow then rejects with StartAborted.
   */
  signal?: AbortSignal;
  /** The control plane listens at `url` (npm start writes it into the data folder's lock). */
  onListening?: (url: string) => void;
}

export { StartAborted };

export function startStoreflow(config: Config, rootLog: Logger, opts: StartOptions = {}): Promise<Storeflow> {
  return start<PostgresStorage>(config, rootLog, opts, { database: true, open: openPostgres });
}

/** The whole process (every role but the dashboard's views) on the in-memory event log and SEED's store in memory: no database. */
export function startStoreflowInMemory(config: Config, rootLog: Logger, opts: StartOptions = {}): Promise<StoreflowInMemory> {
  return start<MemoryStorage>(config, rootLog, opts, { database: false, open: openMemory });
}

/** `storage`: whether it needs PostgreSQL (started embedded unless DATABASE_URL), and how it is opened. */
async function start<S extends Storage>(
  config: Config,
  rootLog: Logger,
  opts: StartOptions,
  storage: { database: boolean; open: (o: Opening) => Promise<S> },
): Promise<Running & S> {
  const started = Date.now();
  const { signal } = opts;
  let up = false;
  // what the parts log while starting, silent after an abort (a late "ready" would say the opposite of what happens)
  const log = signal ? mutableLog(rootLog, { muted: () => signal.aborted && !up, over: () => up }) : rootLog;
  const step = <T>(work: Promise<T>, undo?: (value: T) => unknown) => abortable(signal, work, undo);
  for (const w of config.warnings) log.warn(w);
  const cleanups: { part: string; stop: () => Promise<void>; wait?: boolean }[] = [];
  // each part in turn, the database last; one that hangs is named and passed after a while, so the rest (the embedded
  // PostgreSQL above all) still stops
  const cleanup = async () => {
    for (const { part, stop, wait } of cleanups.reverse()) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      // the embedded services are waited for: exiting while they stop would leave them running
      const late = new Promise<'late'>((ok) => (timer = wait ? undefined : setTimeout(() => ok('late'), PART_STOP_MS)));
      const done = await Promise.race([stop().catch((err) => rootLog.warn({ err, part }, 'error while stopping')), late]);
      clearTimeout(timer);
      if (done === 'late') rootLog.warn({ part, ms: Date.now() - started }, `${part} did not stop within ${PART_STOP_MS / 1000} s; stopping the rest`);
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= cleanup());
  const fatal = (err: Error) => {
    rootLog.fatal({ err: err.message }, 'storeflow cannot go on');
    if (opts.onFatal) opts.onFatal(err);
    else void stop();
  };
  try {
    // awaited whole even when aborted: a PostgreSQL being launched is then stopped with the rest, never left behind
    const infrastructure = await startInfrastructure(config, log, { database: storage.database });
    cleanups.push({ part: 'embedded services', stop: () => infrastructure.stop(), wait: true });
    if (signal?.aborted) throw new StartAborted();
    const tracing = config.tracing ? await step(Tracing.start(config.tracing, log.child({ part: 'tracing' })), (t) => t.shutdown()) : undefined;
    // stopped after everything that makes spans: what is pending is exported first
    if (tracing) cleanups.push({ part: 'tracing', stop: () => tracing.shutdown() });
    const stored = await storage.open({ config, log, infrastructure, tracing, step, stopLater: (part, stop) => cleanups.push({ part, stop }) });
    const { eventLog, database } = stored;
    const metrics = createMetrics();
    const brokers: TransportClient[] = [];
    cleanups.push({
      part: 'MQTT clients',
      stop: async () => {
        await Promise.all(brokers.map((b) => b.close().catch(() => {})));
      },
    });
    const picked = pickTransport(config, infrastructure.brokerUrls, log, {
      connectKafka: opts.connectKafka,
      onTakenOver: (role) =>
        fatal(
          new Error(
            `another process is connected to the MQTT broker with client id ${config.mqtt.clientId}-${role}, and the two take the session from each other: two storeflow processes share MQTT_CLIENT_ID (or CLIENT_ID). Give each its own, e.g. its host name; this one stops`,
          ),
        ),
    });
    // every client is closed at stop and counts for /readyz
    const transport: Transport = {
      source: picked.source,
      handsOffLocally: picked.handsOffLocally,
      acksAfterPublication: picked.acksAfterPublication,
      async connect(role) {
        const b = await picked.connect(role);
        brokers.push(b);
        return b;
      },
    };
    const peers = new Map<Role, RoleHandle>();
    const ctx: RoleContext = {
      config,
      log,
      metrics,
      database,
      eventLog,
      storeData: stored.storeData,
      pipeline: undefined as unknown as Pipeline,
      roles: config.roles,
      peers,
      tracing,
      connectBroker: (role) => transport.connect(role),
    };
    if (config.inspect) {
      const { createSkyInspector, createWebSocketInspector } = await import('@statelyai/inspect');
      const inspector =
        config.inspect === 'sky'
          ? createSkyInspector({ onerror: (err: Error) => log.warn({ err: err.message }, 'Stately inspector error') })
          : createWebSocketInspector({ url: config.inspect });
      inspector.start();
      cleanups.push({ part: 'inspector', stop: async () => inspector.stop() });
      ctx.inspect = inspector.inspect as unknown as RoleContext['inspect'];
      log.info({ inspect: config.inspect === 'sky' ? 'Stately Sky (the live URL is printed above)' : config.inspect }, 'XSTATE_INSPECT: actors are inspected');
    }
    const pipeline = new Pipeline({ config, log: log.child({ part: 'pipeline' }), metrics, eventLog, transport, tracing });
    ctx.pipeline = pipeline;
    const factories = { ...ROLE_FACTORIES, ...opts.factories };
    for (const role of config.roles) {
      const factory = factories[role];
      if (!factory) {
        log.warn({ role }, 'role not available in this build');
        continue;
      }
      const handle = await step(factory(ctx), (h) => h.stop());
      peers.set(role, handle);
      cleanups.push({ part: `${role} role`, stop: () => handle.stop() });
    }
    const readiness: ReadinessCheck[] = [
      ...stored.readiness,
      // no client yet: down while the roles are still connecting, up once started with none needed
      ...(config.transport === 'none' ? [] : [{ name: 'broker', check: () => (brokers.length === 0 ? up : brokers.every((b) => b.isConnected())) }]),
      ...[...peers.values()].flatMap((h) => h.readiness ?? []),
      // the control plane listens before the inputs are consumed (liveness answers through a slow start): ready means
      // subscribed, so what a client publishes on seeing 200 is not lost to a broker with no subscriber yet
      { name: 'started', check: () => up },
    ];
    const sharedOwner: Role | undefined = peers.has('pump') ? 'pump' : peers.has('simulator') ? 'simulator' : undefined;
    const http = await buildControlPlane({
      log,
      metrics,
      readiness,
      webDir: opts.webDir,
      access: accessFrom(config),
      plugins: [...peers.entries()].flatMap(([role, h]) =>
        h.routes ? [{ prefix: role, plugin: h.routes, root: true, sharedPaths: role === sharedOwner }] : [],
      ),
    });
    cleanups.push({ part: 'control plane', stop: () => http.close() });
    await step(http.listen({ port: opts.port ?? config.port, host: config.host }));
    const { port } = http.server.address() as AddressInfo;
    const url = `http://${localAddress(config.host)}:${port}`;
    opts.onListening?.(`${url}/`);
    await step(pipeline.start());
    for (const h of peers.values()) await step(Promise.resolve(h.start?.()));
    if (signal?.aborted) throw new StartAborted();
    up = true;
    log.info(
      {
        url: `${url}/`,
        host: config.host,
        roles: config.roles,
        ms: Date.now() - started,
        try: tryCommands(config, url, infrastructure.embeddedBroker?.port),
      },
      'storeflow ready',
    );
    return { ...stored, config, http, url, infrastructure, metrics, pipeline, roles: peers, stop };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Environment values that must be scrubbed from every log line. */
export function secretValues(env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const k of SECRET_VARIABLES) {
    const v = env[k];
    if (!v) continue;
    if (k.endsWith('_URL')) {
      try {
        const u = new URL(v);
        if (u.password) out.push(decodeURIComponent(u.password), u.password);
      } catch {
        /* not a URL */
      }
    } else out.push(v);
  }
  return out;
}
