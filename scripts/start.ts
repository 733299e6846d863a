/** `npm start`: every role of ROLES (default all) in one process, on embedded defaults unless configured. */
import { loadConfigOrExit, environment } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { resolve } from 'node:path';
import { startStoreflow, startStoreflowInMemory, secretValues, type Running } from '../adapters/process/app.ts';
import { PortInUseError } from '../adapters/edges/embedded-broker.ts';
import { stopEmbeddedPostgresNow } from '../adapters/edges/embedded-postgres.ts';
import { localAddress } from '../adapters/edges/ports.ts';
import { fallbackNotice, portMessage, settlePorts } from '../adapters/process/port-check.ts';
import { heldMessage, lockHome, type HomeLock } from '../adapters/process/home-lock.ts';
import { StartFailure } from '../adapters/process/start-failure.ts';
import { cli } from './cli.ts';

const { positionals } = cli({
  usage: 'npm start -- [ROLES]',
  summary: 'Runs storeflow: the roles of ROLES in one process, on an embedded PostgreSQL and MQTT broker unless DATABASE_URL / MQTT_URL say otherwise.',
  positionals: {
    help: 'ROLES  comma-separated roles (recommender, detector, simulator, pump, gateway); default: ROLES from the environment, else all',
    max: 1,
  },
  more: 'Settings come from the environment and .env (every variable is in .env.example); a bad one exits 2 naming it, and so do ports in use.\nCtrl-C, SIGTERM or SIGHUP stops everything, the database last; a second Ctrl-C stops the database and exits at once.',
});
const env = environment();
if (positionals[0]) env.ROLES = positionals[0];
const configured = loadConfigOrExit(env);
const log = createLogger({ level: configured.logLevel, file: configured.logFile || undefined, secrets: secretValues(env) });

// one storeflow per data folder: a second start on a folder whose owner runs stops here, having touched nothing
let lock: HomeLock | undefined;
if (!configured.databaseUrl) {
  const home = resolve(configured.home);
  let taken: ReturnType<typeof lockHome>;
  try {
    taken = lockHome(home);
  } catch (err) {
    process.stderr.write(`storeflow: cannot use the data folder ${home} (STOREFLOW_HOME): ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (!taken.held) {
    process.stderr.write(heldMessage(home, taken.owner));
    process.exit(2);
  }
  lock = taken.lock;
  process.on('exit', () => lock?.release());
  if (taken.staleOwner)
    log.warn(
      { pid: taken.staleOwner.pid, home },
      `the storeflow that ran here (pid ${taken.staleOwner.pid}) ended without stopping (killed?); taking over its data folder`,
    );
}

// every port this process will listen on, before anything binds: a taken default moves to a free port (one notice
// each), a taken port set in the environment stops the start, all of them in one message, exit 2 as for a bad setting
const ports = await settlePorts(configured);
if (ports.problems.length) {
  process.stderr.write(portMessage(ports.problems));
  process.exit(2);
}
for (const f of ports.fallbacks) log.warn({ variable: f.variable, taken: f.taken, port: f.port }, fallbackNotice(f));
const config = ports.config;
if (config.port) lock?.setUrl(`http://${localAddress(config.host)}:${config.port}/`);

let starting: Promise<Running> | undefined;
let stoppingSince = 0;
/** A signal while starting cuts the start-up short (adapters/process/start-abort.ts). */
const startUp = new AbortController();
/** One Ctrl-C reaches this process more than once (the terminal signals the whole process group, and npm passes it on): one stop. */
const REPEAT_MS = 500;
const shutdown = async (signal: string, code = 0) => {
  if (stoppingSince) {
    if (['SIGINT', 'SIGTERM', 'SIGHUP'].includes(signal) && Date.now() - stoppingSince < REPEAT_MS) return;
    // a second Ctrl-C (or a crash while stopping): the embedded PostgreSQL first, then out at once
    await stopEmbeddedPostgresNow();
    try {
      log.warn({ signal }, 'second signal: embedded PostgreSQL stopped, exiting now');
    } catch {
      /* the terminal may be gone */
    }
    process.exit(130);
  }
  stoppingSince = Date.now();
  log.info({ signal }, 'stopping storeflow');
  const timer = setTimeout(() => {
    log.error('shutdown took over 15 s; exiting');
    process.exit(1);
  }, 15_000);
  timer.unref();
  // a signal while starting aborts the start-up: nothing more starts, and what has started is stopped (the
  // embedded PostgreSQL last) before startStoreflow rejects; once up, the app stops as a whole
  startUp.abort();
  const app = await starting?.catch(() => undefined);
  await app?.stop();
  log.info('storeflow stopped');
  process.exit(code);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// the terminal closed: stop as for Ctrl-C (by default Node would just die, and the database run on)
process.on('SIGHUP', () => void shutdown('SIGHUP'));
// a crash is logged (and kept in LOG_FILENAME) and what has started is stopped before the process goes
const crash = (err: unknown) => {
  log.fatal({ err }, 'storeflow crashed; stopping');
  void shutdown('crash', 1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

try {
  // its MQTT session taken over by another process: stop, exit 1 (the message names MQTT_CLIENT_ID)
  starting = (config.eventLog === 'memory' ? startStoreflowInMemory : startStoreflow)(config, log, {
    onFatal: () => void shutdown('fatal', 1),
    signal: startUp.signal,
    onListening: (url) => lock?.setUrl(url),
  });
  await starting;
} catch (err) {
  // a signal while starting (e.g. Ctrl-C during initdb) is not a failure: the shutdown above finishes and exits
  if (!stoppingSince) {
    // a port taken between the check and the bind: exit 2, as the check does
    const taken = err instanceof PortInUseError || (err as NodeJS.ErrnoException)?.code === 'EADDRINUSE';
    // a dependency that cannot be reached (DATABASE_URL) is one line naming it, no stack; exit 1 as for an MQTT broker
    if (err instanceof PortInUseError || err instanceof StartFailure) log.fatal(err.message);
    else if (taken) log.fatal(`a port was taken while storeflow started: ${(err as Error).message}`);
    else log.fatal({ err }, 'storeflow failed to start');
    process.exit(taken ? 2 : 1);
  }
}
