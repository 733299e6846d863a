/** `npm run schemas`: writes every message schema as JSON Schema into schemas/json/ (like seed 003's schema/*.schema.json). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_SCHEMAS } from '../schemas/messages.ts';
import { EnvSchema } from '../schemas/env.ts';
import { cli } from './cli.ts';

export const SCHEMA_DIR = join(import.meta.dirname, '..', 'schemas', 'json');

export function renderSchemas(): Record<string, string> {
  const all: Record<string, unknown> = { ...ALL_SCHEMAS, environment: EnvSchema };
  // JSON.stringify drops typebox's symbol keys, leaving plain JSON Schema
  return Object.fromEntries(
    Object.entries(all).map(([name, s]) => [
      `${name}.schema.json`,
      `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...(s as object) }, null, 2)}\n`,
    ]),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli({ usage: 'npm run schemas', summary: "Writes every message schema, and the environment's, as JSON Schema to schemas/json/." });
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [file, text] of Object.entries(renderSchemas())) writeFileSync(join(SCHEMA_DIR, file), text);
  console.log(`wrote ${Object.keys(renderSchemas()).length} schemas to schemas/json/`);
}
