/** What a role gets from the process (RoleContext) and gives back (RoleHandle). */
import type { Tracing } from './tracing.ts';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config, Role } from '../../schemas/env.ts';
import type { Logger } from './logger.ts';
import type { InspectionEvent } from 'xstate';
import type { Metrics } from './metrics.ts';
import type { Database } from '../edges/database.ts';
import type { EventLog } from '../../actors/kernel/event-log.ts';
import type { TransportClient } from '../edges/transport.ts';
import type { Pipeline } from './pipeline.ts';
import type { StoreSource } from '../recommender/store-source.ts';
import { must } from '../../actors/kernel/must.ts';

/** One part of /readyz: a name and whether it is up. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean> | boolean;
}

export interface RoleContext {
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** PostgreSQL; none on the in-memory event log (the roles that need it say so at start). */
  database?: Database;
  eventLog: EventLog;
  /** The store's coupons and customers (the cache DB, or the synthetic store in memory). */
  storeData: StoreSource;
  /** A broker client for this role (logging stand-in under TESTING_NO_MQTT). */
  connectBroker(role: string): Promise<TransportClient>;
  /** Append-then-act: inputs in (consume/ingest), outputs out (emit). */
  pipeline: Pipeline;
  /** Every role running in this process. */
  roles: Role[];
  /** XSTATE_INSPECT: pass to createActor's `inspect` option of every actor this role hosts. */
  inspect?: (event: InspectionEvent) => void;
  /** Other roles' handles, by name, once all are created. */
  peers: Map<Role, RoleHandle>;
  /** OpenTelemetry, when on: the inputs a role takes in outside the pipeline (the gateway's AMQP source) are traced too. */
  tracing?: Tracing;
}

export interface RouteOptions {
  /** True when this role owns the bare colliding paths (/state, /start, /stop) at the root. */
  sharedPaths: boolean;
}

export interface RoleHandle {
  /** Routes, mounted under /<role> and at the root. */
  routes?: FastifyPluginAsyncTypebox<RouteOptions>;
  readiness?: ReadinessCheck[];
  /** Called once the control plane listens. */
  start?(): Promise<void>;
  stop(): Promise<void>;
}

export type RoleFactory = (ctx: RoleContext) => Promise<RoleHandle>;

/** The database of a role that cannot run without PostgreSQL (on the in-memory event log it stops the start, saying why). */
export function databaseOf(ctx: RoleContext, role: string): Database {
  return must(ctx.database, `the ${role} role needs PostgreSQL: it does not run on the in-memory event log`);
}
