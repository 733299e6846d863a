/**
 * Before anything binds: every TCP port this process will listen on, checked at once.
 *   PORT (control plane), STREAM_PORT and STREAM_API_PORT (gateway), MQTT_PORT (embedded broker),
 *   PG_PORT (embedded PostgreSQL, when given). Port 0 means "any free port" and is not checked.
 * A default port that is taken (8000 on a machine that runs something else there) is replaced by a free
 * one, with a notice; a port set in the environment is what the user asked for, so a taken one is reported
 * with the variable that sets it, all of them in one message (not one failure per start).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, PortVariable } from '../../schemas/env.ts';
import { freePort, portFree } from '../edges/ports.ts';

export interface PlannedPort {
  variable: PortVariable;
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
  if (config.transport === 'mqtt' && config.mqtt.mode === 'embedded')
    planned.push({ variable: 'MQTT_PORT', port: config.mqtt.port, host: config.host, what: 'embedded MQTT broker' });
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

/** One line per port of `planned` (default: every fixed port) that cannot be used: taken, not bindable, or given to two variables. */
export async function portProblems(config: Config, planned = plannedPorts(config)): Promise<string[]> {
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

/** A default port that was taken, and the free one used instead. */
export interface PortFallback {
  variable: PortVariable;
  taken: number;
  port: number;
}

/**
 * The ports this process will use: `config` with every taken default port replaced by a free one (`fallbacks`),
 * or `problems` (ports set in the environment that are taken, or one port given to two variables).
 */
export async function settlePorts(config: Config): Promise<{ config: Config; fallbacks: PortFallback[]; problems: string[] }> {
  const planned = plannedPorts(config);
  const fixed = planned.filter((p) => config.portsSet.includes(p.variable));
  const problems = await portProblems(config, fixed);
  const fallbacks: PortFallback[] = [];
  // a default that is another variable's port moves too (PORT=8080 leaves STREAM_PORT's 8080 to the control plane)
  const used = new Set(fixed.map((p) => p.port));
  for (const p of planned.filter((p) => !config.portsSet.includes(p.variable))) {
    if (used.has(p.port) || (await portFree(p.port, p.host)) !== true) fallbacks.push({ variable: p.variable, taken: p.port, port: await freePort(p.host) });
    used.add(fallbacks.find((f) => f.variable === p.variable)?.port ?? p.port);
  }
  return { config: withPorts(config, fallbacks), fallbacks, problems };
}

/** `config` listening on the fallback ports. */
function withPorts(config: Config, fallbacks: PortFallback[]): Config {
  const port = (v: PortVariable, current: number) => fallbacks.find((f) => f.variable === v)?.port ?? current;
  return {
    ...config,
    port: port('PORT', config.port),
    pgPort: port('PG_PORT', config.pgPort),
    mqtt: { ...config.mqtt, port: port('MQTT_PORT', config.mqtt.port) },
    gateway: { ...config.gateway, streamPort: port('STREAM_PORT', config.gateway.streamPort), apiPort: port('STREAM_API_PORT', config.gateway.apiPort) },
  };
}

/** The notice for a fallback: one warning line naming the variable, the port taken and the port used. */
export function fallbackNotice(f: PortFallback): string {
  return `${f.variable}: port ${f.taken} is already in use, so storeflow listens on ${f.port} instead (set ${f.variable} to choose the port)`;
}

/** The message for `problems`, ending with what to do. */
export function portMessage(problems: string[]): string {
  return (
    `storeflow: cannot start, ${problems.length === 1 ? 'a port' : `${problems.length} ports`} in the way:\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
    'Set the variable to a free port (0 = any free port), or stop what holds it (see `ss -ltnp`). With MQTT_URL or DATABASE_URL, storeflow uses those services instead of embedded ones.\n'
  );
}
