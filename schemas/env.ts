/**
 * The environment, as one typebox schema: every variable of the five seeds plus storeflow's own,
 * composed here from the groups of schemas/env/ (the process, the transport, each role). Values arrive
 * as strings; `parseConfig` converts, applies defaults, resolves the seeds' aliases and reports every
 * problem at once. This is the entry every importer uses; the parts live in schemas/env/.
 */
import { Type } from '@sinclair/typebox';
import type { Config, ConfigResult } from './env/config.ts';
import { deriveConfig } from './env/derive.ts';
import { POSTGRES_VARIABLES, PROCESS_VARIABLES } from './env/process.ts';
import { readEnv, type Env } from './env/read.ts';
import { DETECTOR_VARIABLES, GATEWAY_VARIABLES, PUMP_VARIABLES, RECOMMENDER_VARIABLES, SIMULATOR_VARIABLES } from './env/roles.ts';
import { KAFKA_VARIABLES, MQTT_VARIABLES, TOPIC_VARIABLES } from './env/transport.ts';
import { TRACING_VARIABLES } from './env/tracing.ts';

export type { Config, ConfigResult, KafkaConfig, PortVariable, Topics, TracingConfig } from './env/config.ts';
export { KAFKA_TOPIC } from './env/config.ts';
export { ROLE_NAMES, type Role } from './env/process.ts';
export { SECRET_VARIABLES, type Env } from './env/read.ts';

/** Every variable storeflow reads, grouped by the part that uses it (the order of .env.example); the seed that named it in the description. */
export const EnvSchema = Type.Object(
  {
    ...PROCESS_VARIABLES,
    ...POSTGRES_VARIABLES,
    ...MQTT_VARIABLES,
    ...TOPIC_VARIABLES,
    ...KAFKA_VARIABLES,
    ...RECOMMENDER_VARIABLES,
    ...DETECTOR_VARIABLES,
    ...PUMP_VARIABLES,
    ...SIMULATOR_VARIABLES,
    ...GATEWAY_VARIABLES,
    ...TRACING_VARIABLES,
  },
  { additionalProperties: true },
);

/** Validate and resolve the environment. Empty strings count as unset. */
export function parseConfig(env: Env): ConfigResult {
  const { value, problems } = readEnv(EnvSchema, env);
  return deriveConfig(env, value, problems);
}

/** Parse or throw: for tests and scripts that build a config from a partial environment. */
export function configFrom(env: Env): Config {
  const r = parseConfig(env);
  if (!r.ok) throw new Error(`invalid configuration: ${r.problems.join('; ')}`);
  return r.config;
}
