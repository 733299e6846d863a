/** Writes .env.example from the environment schema: `npm run env-example`. */
import { writeFileSync } from 'node:fs';
import type { TSchema } from '@sinclair/typebox';
import { EnvSchema } from '../schemas/env.ts';
import { cli } from './cli.ts';

export function renderEnvExample(): string {
  const lines = [
    '# storeflow configuration: every variable, with its default. Copy to .env and edit.',
    '# Generated from schemas/env.ts by `npm run env-example`.',
    '',
  ];
  for (const [key, schema] of Object.entries(EnvSchema.properties) as [string, TSchema][]) {
    lines.push(`# ${schema.description ?? ''}`);
    const def = schema.default;
    lines.push(def === undefined || def === '' ? `# ${key}=` : `# ${key}=${def}`);
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli({ usage: 'npm run env-example', summary: 'Writes .env.example: every variable of schemas/env.ts with its description and default.' });
  writeFileSync('.env.example', renderEnvExample());
  console.log('wrote .env.example');
}
