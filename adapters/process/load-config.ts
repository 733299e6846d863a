/** Reads .env (if present) under the real environment, validates, and exits 2 with every problem listed. */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import { parseConfig, type Config } from '../../schemas/env.ts';

export function environment(envFile = '.env'): Record<string, string | undefined> {
  const fromFile = existsSync(envFile) ? parse(readFileSync(envFile)) : {};
  return { ...fromFile, ...process.env };
}

export function loadConfigOrExit(env = environment()): Config {
  const r = parseConfig(env);
  if (r.ok) return r.config;
  process.stderr.write(
    `storeflow: invalid configuration (${r.problems.length} problem${r.problems.length > 1 ? 's' : ''}):\n${r.problems.map((p) => `  - ${p}`).join('\n')}\nSee .env.example for every variable.\n`,
  );
  process.exit(2);
}
