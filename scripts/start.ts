/** `npm start`: every role of ROLES (default all) in one process, on embedded defaults unless configured. */
import { loadConfigOrExit, environment } from '../adapters/process/load-config.ts';
import { createLogger } from '../adapters/process/logger.ts';
import { startStoreflow, secretValues } from '../adapters/process/app.ts';
import { PortInUseError } from '../adapters/edges/embedded-broker.ts';

const env = environment();
const cliRoles = process.argv.slice(2).find((a) => !a.startsWith('-'));
if (cliRoles) env.ROLES = cliRoles;
const config = loadConfigOrExit(env);
const log = createLogger({ level: config.logLevel, file: config.logFile || undefined, secrets: secretValues(env) });

let starting: ReturnType<typeof startStoreflow> | undefined;
let signals = 0;
const shutdown = async (signal: string, code = 0) => {
  if (++signals > 1) { log.warn('second signal: exiting now'); process.exit(130); }
  log.info({ signal }, 'stopping storeflow');
  const timer = setTimeout(() => { log.error('shutdown took over 15 s; exiting'); process.exit(1); }, 15_000);
  timer.unref();
  // a signal while starting stops what has started once it is up (a failed start cleans up after itself),
  // so an embedded PostgreSQL is never left running
  const app = await starting?.catch(() => undefined);
  await app?.stop();
  log.info('storeflow stopped');
  process.exit(code);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// a crash is logged (and kept in LOG_FILENAME) and what has started is stopped before the process goes
const crash = (err: unknown) => { log.fatal({ err }, 'storeflow crashed; stopping'); void shutdown('crash', 1); };
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

try {
  starting = startStoreflow(config, log);
  await starting;
} catch (err) {
  if (err instanceof PortInUseError) log.fatal(err.message);
  else log.fatal({ err }, 'storeflow failed to start');
  process.exit(1);
}
