/**
 * Before anything binds: every TCP port this process will listen on, checked at once, so a taken port is
 * reported with the variable that sets it, all of them in one message (not one failure per start).
 *   PORT (control plane), STREAM_PORT and STREAM_API_PORT (gateway), MQTT_PORT (embedded broker),
 *   PG_PORT (embedded PostgreSQL, when given). Port 0 means "any free port" and is not checked.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../schemas/env.ts';
import { portFree } from '../edges/ports.ts';

export interface PlannedPort {
  variable: string;
  port: number;
  host: string;
  what: string;
}

/** The ports `config` makes this process listen on (fixed ones only). */
export function plannedPorts(config: Config): PlannedPort[] {
  const planned: PlannedPort[] = [{ variable: 'PORT', port: config.port, host: config.host, what: 'control plane (HTTP)' }];
  if (config.roles.includes('gateway')) {
    planned.push({ variable: 'STREAM_PORT', port: config.gateway.streamPort, host: config.host, what: 'gateway WebSockets' });
    planned.push({ variable: 'STREAM_API_PORT', port: config.gateway.apiPort, host: config.host, what: 'gateway internal API' });
  }
  if (config.mqtt.mode === 'embedded') planned.push({ variable: 'MQTT_PORT', port: config.mqtt.port, host: config.host, what: 'embedded MQTT broker' });
  // a PostgreSQL this data directory left running holds its port: it is stopped at start, so it is not in the way
  if (!config.databaseUrl && config.pgPort && !leftoverHolds(join(config.home, 'pg'), config.pgPort))
    planned.push({ variable: 'PG_PORT', port: config.pgPort, host: '127.0.0.1', what: 'embedded PostgreSQL' });
  return planned.filter((p) => p.port > 0);
}

function leftoverHolds(dataDir: string, port: number): boolean {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  if (Number(lines[3]) !== port || !pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One line per port that cannot be used: taken, not bindable, or given to two variables. */
export async function portProblems(config: Config): Promise<string[]> {
  const planned = plannedPorts(config);
  const problems: string[] = [];
  const seen = new Map<number, PlannedPort>();
  for (const p of planned) {
    const other = seen.get(p.port);
    if (other) problems.push(`${other.variable} and ${p.variable} are both ${p.port}: ${other.what} and ${p.what} need a port each`);
    else seen.set(p.port, p);
  }
  const results = await Promise.all([...seen.values()].map(async (p) => [p, await portFree(p.port, p.host)] as const));
  for (const [p, free] of results) if (free !== true) problems.push(`${p.variable}=${p.port} (${p.what}) is ${free} on ${p.host}`);
  return problems;
}

/** The message for `problems`, ending with what to do. */
export function portMessage(problems: string[]): string {
  return (
    `storeflow: cannot start, ${problems.length === 1 ? 'a port' : `${problems.length} ports`} in the way:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
    'Set the variable to a free port (0 = any free port), or stop what holds it (see `ss -ltnp`). With MQTT_URL or DATABASE_URL, storeflow uses those services instead of embedded ones.\n'
  );
}
