/**
 * The environment as one typebox schema, composed from the groups of schemas/env/ (the process, the transport, each
 * role, tracing). schemas/env.ts reads it (parseConfig); derive.ts takes the value read against it.
 */
import { Type } from '@sinclair/typebox';
import { POSTGRES_VARIABLES, PROCESS_VARIABLES } from './process.ts';
import { DETECTOR_VARIABLES, GATEWAY_VARIABLES, PUMP_VARIABLES, RECOMMENDER_VARIABLES, SIMULATOR_VARIABLES } from './roles.ts';
import { KAFKA_VARIABLES, MQTT_VARIABLES, TOPIC_VARIABLES } from './transport.ts';
import { TRACING_VARIABLES } from './tracing.ts';

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
