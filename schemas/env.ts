/**
 * The environment, as one typebox schema: every variable of the five seeds plus storeflow's own,
 * composed here from the groups of schemas/env/ (the process, the transport, each role). Values arrive
 * as strings; `parseConfig` converts, applies defaults, resolves the seeds' aliases and reports every
 * problem at once. This is the entry every importer uses; the parts live in schemas/env/.
 */
import type { Config, ConfigResult } from './env/config.ts';
import { deriveConfig } from './env/derive.ts';
import { readEnv, type Env } from './env/read.ts';
import { EnvSchema } from './env/schema.ts';

export type { Config, ConfigResult, KafkaConfig, PortVariable, Topics, TracingConfig } from './env/config.ts';
export { KAFKA_TOPIC } from './env/config.ts';
export { ROLE_NAMES, type Role } from './env/process.ts';
export { SECRET_VARIABLES, type Env } from './env/read.ts';

export { EnvSchema };

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
