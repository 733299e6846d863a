/**
 * Reading the environment against its schema: strings become booleans, numbers and lower-cased
 * choices, defaults are applied, and every variable that does not fit is reported at once, in words a
 * person can act on. A secret's value is never echoed, not even a wrong one.
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ROLE_NAMES } from './process.ts';

export type Env = Record<string, string | undefined>;

/** Variables whose value must never reach a log line. */
export const SECRET_VARIABLES = ['MQTT_PASSWORD', 'ESS_API_TOKEN', 'CONTROL_TOKEN', 'DATABASE_URL', 'AMQP_URL', 'ESS_AMPQ_URL', 'MQTT_URL'];

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
/** Choices taken in any case (seed 001's player did). */
const ANY_CASE = new Set(['LOG_LEVEL', 'MESSAGE_FORMAT', 'COUPON_VALIDITY', 'AUTO_OFFSET_RESET', 'STALE_EVENTS', 'AMQP_EXCHANGE_TYPE']);

/** The schema's variables, converted and defaulted; `problems` lists each variable that does not fit, once. Empty strings count as unset. */
export function readEnv<S extends TObject>(schema: S, env: Env): { value: Static<S>; problems: string[] } {
  const booleans = new Set(
    Object.entries(schema.properties)
      .filter(([, s]) => (s as TSchema).type === 'boolean')
      .map(([k]) => k),
  );
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const v = env[key];
    if (v === undefined || v.trim() === '') continue;
    const text = v.trim();
    if (booleans.has(key)) {
      const l = text.toLowerCase();
      if (TRUE.has(l)) raw[key] = true;
      else if (FALSE.has(l)) raw[key] = false;
      else raw[key] = text; // reported below as not a boolean
    } else if (ANY_CASE.has(key) || (key === 'CONSUME_FROM' && /^(earliest|latest)$/i.test(text))) raw[key] = text.toLowerCase();
    else raw[key] = text;
  }
  const value = Value.Default(schema, Value.Convert(schema, raw)) as Static<S>;
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const key = e.path.replace(/^\//, '').split('/')[0];
    if (seen.has(key)) continue;
    seen.add(key);
    const given = raw[key];
    if (key === 'ROLES' && typeof given === 'string') {
      problems.push(rolesProblem(given));
      continue;
    }
    problems.push(`${key}: ${describe(e.schema)}${given === undefined || SECRET_VARIABLES.includes(key) ? '' : `, got ${JSON.stringify(env[key])}`}`);
  }
  return { value, problems };
}

/** ROLES is checked by a pattern; a person is told which names are not roles and which are. */
function rolesProblem(given: string): string {
  const names = given.split(',').map((r) => r.trim());
  const unknown = names.filter((r) => r && !(ROLE_NAMES as readonly string[]).includes(r));
  const what = unknown.length
    ? `unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((r) => JSON.stringify(r)).join(', ')}`
    : `expected a comma-separated list of roles, got ${JSON.stringify(given)}`;
  return `ROLES: ${what}; the roles are ${ROLE_NAMES.join(', ')}`;
}

function describe(schema: TSchema): string {
  if (schema.anyOf) return `expected one of ${schema.anyOf.map((s: TSchema) => s.const).join(', ')}`;
  if (schema.type === 'boolean') return 'expected true or false';
  if (schema.type === 'integer' || schema.type === 'number') {
    const kind = schema.type === 'integer' ? 'an integer' : 'a number';
    const max = schema.maximum !== undefined && schema.maximum < Number.MAX_SAFE_INTEGER ? ` and ${schema.maximum}` : '';
    return max ? `expected ${kind} between ${schema.minimum}${max}` : `expected ${kind} >= ${schema.minimum}`;
  }
  if (schema.pattern) return `expected a value matching ${schema.pattern}`;
  if (schema.minLength !== undefined) return `expected at least ${schema.minLength} characters`;
  return `invalid value (${schema.description ?? 'see .env.example'})`;
}
