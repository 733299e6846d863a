/**
 * The process's own variables: which roles it runs, its control plane, logging, and where its data
 * lives (embedded or external PostgreSQL, the synthetic store's seed). Kept apart from the transport's
 * and the roles' variables so each part of the environment reads on its own.
 */
import { Type } from '@sinclair/typebox';
import { Bool, Enum, Int, Str, Url } from './fields.ts';

export const ROLE_NAMES = ['recommender', 'detector', 'simulator', 'pump', 'gateway'] as const;
export type Role = (typeof ROLE_NAMES)[number];

export const PROCESS_VARIABLES = {
  ROLES: Type.String({
    description: `Comma-separated roles to run in this process (${ROLE_NAMES.join(', ')}); default all`,
    default: ROLE_NAMES.join(','),
    pattern: `^\\s*(${ROLE_NAMES.join('|')})\\s*(,\\s*(${ROLE_NAMES.join('|')})\\s*)*$`,
  }),
  PORT: Int('Control plane HTTP port (dashboard, seed endpoints, /metrics, /docs)', 8000, 0, 65535),
  HOST: Str(
    "Interface every server binds to: the control plane, the gateway's two ports and the embedded MQTT broker. 127.0.0.1 = this machine only; 0.0.0.0 = every interface (a container, a server: set CONTROL_TOKEN)",
    '127.0.0.1',
  ),
  CONTROL_TOKEN: Type.Optional(
    Type.String({
      minLength: 16,
      description:
        "Bearer token the control plane requires (at least 16 characters; e.g. openssl rand -hex 32): every endpoint but liveness, readiness, metrics, docs, the page's files and /auth, and the dashboard's stream. Unset = open (a laptop on 127.0.0.1)",
    }),
  ),
  STOREFLOW_HOME: Str('Folder for embedded data (PostgreSQL data directory, generated CSVs)', '.storeflow'),
  LOG_LEVEL: Enum(
    'Logging level (seeds 000/001); Python names are accepted',
    ['trace', 'debug', 'info', 'warn', 'warning', 'error', 'critical', 'fatal', 'silent'],
    'info',
  ),
  LOG_FILENAME: Str('Also write JSON logs to this file (seeds 000/001)', ''),
  XSTATE_INSPECT: Str('Attach @statelyai/inspect: "sky" for Stately\'s hosted inspector, or a ws:// URL', ''),
};

export const POSTGRES_VARIABLES = {
  EVENT_LOG: Enum(
    "Where the event log is: postgres, or memory (no database at all: SEED's store in memory, the log gone at stop, no dashboard views)",
    ['postgres', 'memory'],
    'postgres',
  ),
  DATABASE_URL: Url('External PostgreSQL; unset = embedded PostgreSQL in STOREFLOW_HOME/pg', ['postgres', 'postgresql']),
  PG_PORT: Int('Port of the embedded PostgreSQL (0 = a free port)', 0, 0, 65535),
  DATABASE_SCHEMA: Type.String({ description: "PostgreSQL schema holding storeflow's tables", default: 'public', pattern: '^[a-z_][a-z0-9_]*$' }),
  AUTO_SEED: Bool('Generate and load the synthetic store on first start when the cache tables are empty', true),
  SEED: Int('Seed of the synthetic data generator and the simulator', 42, 0),
};
